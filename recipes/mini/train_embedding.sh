#!/usr/bin/env bash
# Train pyannote_resnet50's ResNet50 speaker embedding on the Mini corpus (CPU, minutes)
# with pyannote.audio's stock training CLI, then write a slim checkpoint.
#
#   recipes/mini/train_embedding.sh [OUTPUT_DIR] [MAX_TIME] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/mini-embedding, MAX_TIME (DD:HH:MM:SS) to
# 00:00:10:00. The best checkpoint (lowest development EqualErrorRate) is saved slim
# (weights + hyper-parameters) as OUTPUT_DIR/embedding.ckpt.
# Architecture: the shipped one (width 16, torchvision's stride-2 stem and max-pool,
# 2.3M parameters), which the equal-wall-clock sweep of recipes/embedding/sweep.sh chose
# for 2 CPU cores; the WeSpeaker-sized base_width=32 is for GPUs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-resnet50 pyannote-audio-train

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/mini-embedding}")"
MAX_TIME="${2:-00:00:10:00}"
shift $(( $# > 2 ? 2 : $# ))

# Mini audio is generated from the committed LibriSpeech utterances
if [ ! -d "$ROOT/pyannote_resnet50/data/mini/wav" ]; then
    pyannote-resnet50 mini
fi

# Hydra changes the working directory: the registry is given by absolute path
pyannote-audio-train \
    +registry="$ROOT/database.yml" \
    protocol=Mini.SpeakerDiarization.Simulated \
    task=FileScopedSpeakerEmbedding \
    task.duration=2.0 task.min_duration=1.0 task.min_turn_duration=1.0 \
    task.validation_duration=1.5 task.min_speech_duration=3.0 \
    task.num_classes_per_batch=32 task.num_workers=1 \
    +augmentation=NoiseGain \
    model=ResNet50 model.base_width=16 model.stem_stride=2 model.stem_max_pool=true \
    trainer.max_epochs=100 trainer.max_time="$MAX_TIME" \
    trainer.num_sanity_val_steps=0 trainer.enable_model_summary=false \
    hydra.run.dir="$OUTPUT_DIR" \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR"

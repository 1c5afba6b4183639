#!/usr/bin/env bash
# Train pyannote_resnet50's ResNet50 speaker embedding on the Mini corpus (CPU, minutes)
# with pyannote.audio's stock training CLI, then write a slim checkpoint.
#
#   recipes/mini/train_embedding.sh [OUTPUT_DIR] [MAX_TIME] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/mini-embedding, MAX_TIME (DD:HH:MM:SS) to
# 00:00:10:00. The best checkpoint (lowest development EqualErrorRate) is saved slim
# (weights + hyper-parameters, ~7 MB with base_width=8) as OUTPUT_DIR/embedding.ckpt.
# Widths: base_width=8 is what 2 CPU cores train in 10 minutes (1.7M parameters);
# the default, WeSpeaker-sized base_width=32 (11.1M) is for GPUs.
set -euo pipefail

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
    model=ResNet50 model.base_width=8 \
    trainer.max_epochs=100 trainer.max_time="$MAX_TIME" \
    trainer.num_sanity_val_steps=0 trainer.enable_model_summary=false \
    hydra.run.dir="$OUTPUT_DIR" \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR"

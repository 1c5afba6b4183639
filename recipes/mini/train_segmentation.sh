#!/usr/bin/env bash
# Train the default segmentation model (pyannote's PyanNet, powerset multi-speaker
# segmentation) on the Mini corpus with pyannote.audio's stock training CLI, on CPU,
# then write a slim checkpoint.
#
#   recipes/mini/train_segmentation.sh [OUTPUT_DIR] [MAX_TIME] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/mini-segmentation, MAX_TIME (DD:HH:MM:SS) to
# 00:00:15:00. The best checkpoint (lowest development DiarizationErrorRate) is saved
# slim as OUTPUT_DIR/segmentation.ckpt; copy it to
# pyannote_resnet50/data/checkpoints/segmentation-mini.ckpt to make it the default.
# The same command with protocol=VoxConverse.SpeakerDiarization.Split (and a GPU) trains
# a VoxConverse segmentation model: see recipes/voxconverse/README.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-resnet50 pyannote-audio-train

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/mini-segmentation}")"
MAX_TIME="${2:-00:00:15:00}"
shift $(( $# > 2 ? 2 : $# ))

# Mini audio is generated from the committed LibriSpeech utterances
pyannote-resnet50 mini

# Hydra changes the working directory: the registry is given by absolute path
pyannote-audio-train \
    +registry="$ROOT/database.yml" \
    protocol=Mini.SpeakerDiarization.Simulated \
    task=SpeakerDiarization \
    task.duration=10.0 task.max_speakers_per_chunk=3 task.max_speakers_per_frame=2 \
    task.batch_size=32 task.num_workers=1 \
    model=PyanNet \
    trainer.max_epochs=1000 trainer.max_time="$MAX_TIME" \
    trainer.num_sanity_val_steps=0 trainer.enable_model_summary=false \
    hydra.run.dir="$OUTPUT_DIR" \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR" segmentation.ckpt

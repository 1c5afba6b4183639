#!/usr/bin/env bash
# Train pyannote_resnet50's ResNet50 speaker embedding on VoxConverse (one GPU)
# with pyannote.audio's stock training CLI, then write a slim checkpoint.
#
#   recipes/voxconverse/train_embedding.sh [OUTPUT_DIR] [extra Hydra overrides...]
#
# Set the `Databases: VoxConverse:` line of database.yml to your audio first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/voxconverse-embedding}")"
shift $(( $# > 0 ? 1 : 0 ))

# Hydra changes the working directory: the registry is given by absolute path
pyannote-audio-train \
    +registry="$ROOT/database.yml" \
    protocol=VoxConverse.SpeakerDiarization.Split \
    task=FileScopedSpeakerEmbedding \
    task.duration=3.0 task.min_duration=2.0 task.min_turn_duration=1.0 \
    task.validation_duration=2.0 task.min_speech_duration=10.0 \
    task.num_classes_per_batch=128 task.num_chunks_per_class=1 \
    task.num_validation_chunks=8 task.num_workers=8 task.pin_memory=true \
    +augmentation=NoiseGain \
    model=ResNet50 model.base_width=32 \
    optimizer=AdamW optimizer.lr=1e-3 optimizer.weight_decay=1e-4 \
    trainer.max_epochs=200 trainer.precision=16-mixed \
    hydra.run.dir="$OUTPUT_DIR" \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR"

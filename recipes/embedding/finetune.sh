#!/usr/bin/env bash
# Second stage of the embedding recipe: large-margin fine-tuning on longer chunks
# (3-6 s, ArcFace margin 17 degrees instead of 11.5, learning rate 2e-4), starting from
# a trained checkpoint (default: the shipped embedding). Same data, augmentation and
# resumability as recipes/embedding/train.sh (run it again to resume).
#
#   recipes/embedding/finetune.sh [OUTPUT_DIR] [MAX_TIME] [CHECKPOINT] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/embedding-finetune, MAX_TIME to 00:01:00:00.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="${1:-$ROOT/training_runs/embedding-finetune}"
MAX_TIME="${2:-00:01:00:00}"
CHECKPOINT="$(realpath "${3:-$ROOT/pyannote_resnet50/data/checkpoints/embedding-readspeech.ckpt}")"
shift $(( $# > 3 ? 3 : $# ))

MODEL="model=FineTune model.checkpoint=$CHECKPOINT" \
MIN_DURATION="${MIN_DURATION:-3.0}" DURATION="${DURATION:-6.0}" \
MARGIN="${MARGIN:-17.0}" MARGIN_WARMUP="${MARGIN_WARMUP:-1}" LR="${LR:-2e-4}" \
    bash "$ROOT/recipes/embedding/train.sh" "$OUTPUT_DIR" "$MAX_TIME" "$@"

#!/usr/bin/env bash
# Tune the speaker diarization pipeline on Mini development, apply it to Mini test and
# score it with pyannote-metrics (CPU, minutes).
#
#   recipes/mini/optimize_pipeline.sh [OUTPUT_DIR] [TRIALS]
#
# OUTPUT_DIR defaults to training_runs/mini-pipeline, TRIALS to 50. Uses the committed
# default checkpoints (pyannote_resnet50/data/checkpoints/{segmentation,embedding}-mini.ckpt).
# OUTPUT_DIR/config.yaml loads with pyannote.audio.Pipeline.from_pretrained; re-running
# resumes the study (OUTPUT_DIR/trials.sqlite).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-resnet50 pyannote-metrics

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/mini-pipeline}")"
TRIALS="${2:-50}"
PROTOCOL=Mini.SpeakerDiarization.Simulated
export PYANNOTE_DATABASE_CONFIG="$ROOT/database.yml"

# Mini audio is generated from the committed LibriSpeech utterances
if [ ! -d "$ROOT/pyannote_resnet50/data/mini/wav" ]; then
    pyannote-resnet50 mini
fi

pyannote-resnet50 optimize "$PROTOCOL" "$OUTPUT_DIR" --subset development --trials "$TRIALS" --cache
pyannote-resnet50 apply "$OUTPUT_DIR/config.yaml" "$PROTOCOL" --subset test --output "$OUTPUT_DIR/test.rttm"
pyannote-metrics diarization --subset=test "$PROTOCOL" "$OUTPUT_DIR/test.rttm"

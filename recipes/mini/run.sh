#!/usr/bin/env bash
# The main job on the embedded default, end to end, on CPU (a few minutes on 2 cores):
#   1. build the Mini corpus (simulated conversations of real LibriSpeech speakers),
#   2. print its exploratory data analysis (and write a figure),
#   3. apply the shipped diarization pipeline (segmentation + ResNet50 embeddings trained on
#      Mini train, hyper-parameters tuned on Mini development) to Mini test,
#   4. score it with the standard tool, pyannote-metrics.
#
#   bash recipes/mini/run.sh [OUTPUT_DIR]          (default: outputs/mini)
#
# To retrain everything the shipped pipeline is made of, see recipes/mini/README.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-resnet50 pyannote-metrics

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/outputs/mini}")"
PROTOCOL=Mini.SpeakerDiarization.Simulated
export PYANNOTE_DATABASE_CONFIG="$ROOT/database.yml"
mkdir -p "$OUTPUT_DIR"

echo "== 1. Mini corpus"
pyannote-resnet50 mini

echo "== 2. EDA"
pyannote-resnet50 eda "$PROTOCOL" --figure "$OUTPUT_DIR/eda.png"

echo "== 3. Diarization of Mini test with the shipped pipeline"
pyannote-resnet50 apply default "$PROTOCOL" --subset test --output "$OUTPUT_DIR/test.rttm"

echo "== 4. pyannote-metrics"
pyannote-metrics diarization --subset=test "$PROTOCOL" "$OUTPUT_DIR/test.rttm"
echo "hypothesis: $OUTPUT_DIR/test.rttm; EDA figure: $OUTPUT_DIR/eda.png"

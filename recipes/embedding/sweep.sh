#!/usr/bin/env bash
# Equal-wall-clock sweep of the ResNet50's width and stem (and of pyannote.audio's
# WeSpeakerResNet34) on 2 CPU cores: each configuration trains with
# recipes/embedding/train.sh for the same MAX_TIME, then the table of best development
# EER, epochs and steps is printed.
#
#   recipes/embedding/sweep.sh [SWEEP_DIR] [MAX_TIME]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SWEEP_DIR="$(realpath -m "${1:-$ROOT/training_runs/sweep}")"
MAX_TIME="${2:-00:00:07:00}"

declare -A CONFIGS=(
    [w16-stride2-maxpool]="model=ResNet50 model.base_width=16 model.stem_stride=2 model.stem_max_pool=true"
    [w32-stride2-maxpool]="model=ResNet50 model.base_width=32 model.stem_stride=2 model.stem_max_pool=true"
    [w16-stride2]="model=ResNet50 model.base_width=16 model.stem_stride=2 model.stem_max_pool=false"
    [wespeaker-resnet34]="model=WeSpeakerResNet34"
)
mkdir -p "$SWEEP_DIR"
for name in w16-stride2-maxpool w32-stride2-maxpool w16-stride2 wespeaker-resnet34; do
    MODEL="${CONFIGS[$name]}" bash "$ROOT/recipes/embedding/train.sh" "$SWEEP_DIR/$name" "$MAX_TIME" \
        > "$SWEEP_DIR.$name.log" 2>&1 || echo "$name failed: see $SWEEP_DIR.$name.log"
done
python - "$SWEEP_DIR" <<'PY'
import csv, sys
from pathlib import Path
print(f"| configuration | epochs | steps | best development EER |")
print(f"|---|---:|---:|---:|")
for run in sorted(Path(sys.argv[1]).iterdir()):
    rows = list(csv.DictReader(open(run / "training_curve.csv")))
    best = min(float(r["EqualErrorRate"]) for r in rows)
    print(f"| {run.name} | {len(rows)} | {rows[-1]['step']} | {best:.3f} |")
PY

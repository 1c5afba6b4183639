#!/usr/bin/env python
"""Where the DER comes from: the pipeline with its segmentation or its clustering made oracle.

For a pipeline (``--pipeline config.yaml``, default the shipped one), on the test files of
each protocol (Mini, the real AMI Debug excerpts, the held-out Common Voice conversations
and the long recordings; Conversations' audio is built from ../shared/data when missing),
DER and its parts (pyannote.metrics, no collar, overlap scored, estimated count) of:

1. **pipeline**: the pipeline as it is;
2. **oracle clustering**: its segmentation, each local speaker given to the reference
   speaker it matches (:class:`~pyannote_resnet50.pipelines.clustering.OracleClustering`),
   no local-speaker check: the error that no embedding and no clustering of these local
   speakers can remove (missed and false speech, local speakers holding two voices);
3. **oracle clustering + check** (when the pipeline has a local-speaker check): the same,
   then the pipeline's check against the reference speakers' centroids (e.g. each 2.5 s
   window re-assigned): what the check could do with the right speakers;
4. **oracle segmentation**: the reference's local speakers, the pipeline's embedding,
   clustering and check (``oracle_twin()``, the bracketed figure of the other benchmarks):
   the embedding's and the clustering's error on pure local speakers;
5. **oracle segmentation + clustering**: both, no check: what the reconstruction itself
   loses (``min_duration_off``, chunks holding more speakers than the model's).

Row 1 minus row 2 is then what the embedding and the clustering add on top of the
segmentation's own error. ``--plot`` draws the parts as stacked bars, one group per set.

Usage
-----
    python -W ignore recipes/benchmarks/decomposition.py --plot docs/der_decomposition.png
    python -W ignore recipes/benchmarks/decomposition.py --pipeline exp/sc-t/config.yaml \\
        --protocols Mini.SpeakerDiarization.Simulated --subset development
"""

import argparse
import os
from pathlib import Path
from typing import Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyannote_resnet50.core.evaluation import DER_COMPONENTS as COMPONENTS, diarization_scores  # noqa: E402
from pyannote_resnet50.database.benchmarks import BENCHMARK_PROTOCOLS, benchmark_sets, short_name  # noqa: E402


def systems(pipeline) -> List[tuple]:
    """(name, pipeline) of the rows: the pipeline, then its oracle twins"""
    rows = [("pipeline", pipeline),
            ("oracle clustering", pipeline.oracle_twin(segmentation=False, clustering=True, local_speaker_check="none"))]
    if pipeline.local_speaker_check != "none":
        rows.append(("oracle clustering + check", pipeline.oracle_twin(segmentation=False, clustering=True)))
    rows.append(("oracle segmentation", pipeline.oracle_twin()))
    rows.append(("oracle segmentation + clustering", pipeline.oracle_twin(clustering=True, local_speaker_check="none")))
    return rows


def plot(results: Dict[str, Dict[str, Dict[str, float]]], path: Path, title: str) -> None:
    """Stacked bars of the DER components: one group of bars per set, one bar per row"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sets = list(results)
    names = list(next(iter(results.values())))
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(4.4 + 2.2 * len(sets), 4.6))
    colours = {"missed detection": "tab:orange", "false alarm": "tab:red", "confusion": "tab:blue"}
    hatches = ["", "//", "xx", "..", "\\\\"]
    for j, name in enumerate(names):
        x = np.arange(len(sets)) + (j - (len(names) - 1) / 2) * width
        bottom = np.zeros(len(sets))
        for component in COMPONENTS:
            values = np.array([results[s][name][component] for s in sets])
            ax.bar(x, values, width, bottom=bottom, color=colours[component], hatch=hatches[j % len(hatches)],
                   edgecolor="white", label=component if j == 0 else None)
            bottom += values
        for xi, total in zip(x, bottom):
            ax.text(xi, total + 0.5, f"{total:.0f}", ha="center", fontsize=7)
    ax.set_xticks(np.arange(len(sets)), sets)
    ax.set_ylabel("DER % (no collar, overlap scored)")
    ax.set_title(title, fontsize=9)
    # one legend for the components (colours), one for the rows (hatches)
    from matplotlib.patches import Patch

    first = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=[Patch(facecolor="lightgrey", hatch=hatches[j % len(hatches)], edgecolor="grey", label=f"{j + 1}. {n}")
                       for j, n in enumerate(names)], loc="lower left", bbox_to_anchor=(1.01, 0.0), fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default=None, help="config.yaml (default: the shipped pipeline)")
    parser.add_argument("--protocols", nargs="*", default=list(BENCHMARK_PROTOCOLS))
    parser.add_argument("--subset", default="test", choices=["development", "test"])
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the stacked components there")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    args = parser.parse_args(argv)

    import torch
    from pyannote.audio import Pipeline

    from pyannote_resnet50 import DEFAULT_PIPELINE

    torch.set_num_threads(args.threads)
    pipeline = Pipeline.from_pretrained(args.pipeline or DEFAULT_PIPELINE)
    sets = benchmark_sets(args.protocols, args.subset)

    results: Dict[str, Dict[str, Dict[str, float]]] = {short_name(p): {} for p in sets}
    for name, system in systems(pipeline):
        for protocol, files in sets.items():
            # the oracle twins read the reference
            parts = results[short_name(protocol)][name] = diarization_scores(system, files, with_reference=True)
            print(f"{name:>33} | {protocol:<34} | DER {parts['DER']:.2f} | "
                  + " | ".join(f"{c} {parts[c]:.2f}" for c in COMPONENTS), flush=True)

    names = list(next(iter(results.values())))
    print(f"\n{args.subset} DER % (miss / false alarm / confusion)\n")
    print("| row | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for j, name in enumerate(names):
        print(f"| {j + 1}. {name} | " + " | ".join(
            f"{r[name]['DER']:.2f} ({' / '.join(f'{r[name][c]:.2f}' for c in COMPONENTS)})" for r in results.values()) + " |")
    print("| 1 − 2: embedding + clustering on these local speakers | " + " | ".join(
        f"{r['pipeline']['DER'] - r['oracle clustering']['DER']:+.2f}" for r in results.values()) + " |")
    if args.plot is not None:
        plot(results, args.plot, f"{args.pipeline or 'shipped pipeline'}, {args.subset}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

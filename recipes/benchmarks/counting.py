#!/usr/bin/env python
"""Speaker-counting benchmark: each clustering method, with oracle and with real segmentation.

For each pipeline (``--pipeline NAME=config.yaml``, repeatable: one per clustering method,
each tuned on development only, e.g. by ``pyannote-resnet50 optimize ... --clustering X``),
on Mini test, on the 12 real AMI Debug excerpts and on Conversations test (held-out Common
Voice speakers; audio built from ../shared/data when missing, the corpus skipped without it):

* DER (pyannote.metrics, no collar, overlap scored) with the **estimated** number of
  speakers and with the **oracle** number (``num_speakers`` = the reference's);
* the share of files whose estimated number of speakers is exact (speakers of the output
  against labels of the reference within the file's UEM);

with the real segmentation and with the reference segmentation (``oracle_twin``: same
embeddings, clustering and hyper-parameters; an upper bound that isolates counting from
segmentation).

Usage
-----
    python -W ignore recipes/benchmarks/counting.py \\
        --pipeline "AHC=pyannote_resnet50/data/checkpoints/config.yaml" \\
        --pipeline "VBx=exp/vbx/config.yaml" --plot docs/counting.png
"""

import argparse
import os
from pathlib import Path
from typing import Dict, List

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyannote_resnet50.database.benchmarks import BENCHMARK_PROTOCOLS  # noqa: E402

SWEEP_THRESHOLDS = np.linspace(0.75, 1.25, 11)  # times the pipeline's threshold
SWEEP_FRACTIONS = np.linspace(0.0, 0.1, 6)


def num_speakers_in(annotation, uem) -> int:
    """Number of speakers of `annotation` inside `uem` (the count scored everywhere here)."""
    return len(annotation.crop(uem).labels())


def count_scores(pipeline, files: List[Dict], oracle: bool, forced: bool = True) -> Dict[str, float]:
    """DER with estimated / oracle count (%), shares of exact, over- and under-counted files (%), and
    "errors": the estimated minus the true count of each file (in the order of `files`).

    With ``forced=False`` the pipeline is not run again with the true count ("DER oracle count" is NaN)."""
    from pyannote.database import get_annotated

    from pyannote_resnet50.core.evaluation import diarization_scores

    uems = {file["uri"]: get_annotated(file) for file in files}
    true = {file["uri"]: num_speakers_in(file["annotation"], uems[file["uri"]]) for file in files}
    found = {}

    def estimating(inputs):
        hypothesis = pipeline(inputs)
        found[inputs["uri"]] = num_speakers_in(hypothesis, uems[inputs["uri"]])
        return hypothesis

    estimated = diarization_scores(estimating, files, with_reference=oracle)["DER"]
    told = float("nan")
    if forced:
        told = diarization_scores(lambda inputs: pipeline(inputs, num_speakers=true[inputs["uri"]]), files,
                                  with_reference=oracle)["DER"]
    errors = [found[file["uri"]] - true[file["uri"]] for file in files]
    return {
        "DER estimated": estimated,
        "DER oracle count": told,
        "exact": 100 * sum(e == 0 for e in errors) / len(files),
        "over": 100 * sum(e > 0 for e in errors) / len(files),
        "under": 100 * sum(e < 0 for e in errors) / len(files),
        "errors": errors,
    }


def sweep(pipeline, files: List[Dict]) -> Dict[str, np.ndarray]:
    """DER (%) and share of exact counts (%) of `files` over the grid of ``clustering.threshold``
    (:data:`SWEEP_THRESHOLDS` times the pipeline's) and ``min_cluster_fraction`` (:data:`SWEEP_FRACTIONS`).

    Returns
    -------
    grid : dict
        "thresholds", "fractions" (axes), "DER", "exact" and "bias" (mean estimated minus
        reference count), each (num_thresholds, num_fractions).
    """
    import copy

    from pyannote.database import get_annotated
    from pyannote.metrics.diarization import DiarizationErrorRate
    from tqdm.auto import tqdm

    from pyannote_resnet50.pipelines.optimize import precompute

    if not hasattr(pipeline.clustering, "min_cluster_fraction"):
        raise ValueError("--sweep needs an agglomerative pipeline (clustering: AgglomerativeClustering).")
    files = [dict(file) for file in files]
    precompute(pipeline, files)  # segmentation and embeddings once, kept in each file
    base = pipeline.parameters(instantiated=True)
    thresholds = SWEEP_THRESHOLDS * base["clustering"]["threshold"]
    shape = (len(thresholds), len(SWEEP_FRACTIONS))
    grid = {"thresholds": thresholds, "fractions": SWEEP_FRACTIONS,
            "DER": np.zeros(shape), "exact": np.zeros(shape), "bias": np.zeros(shape)}
    try:
        for (i, threshold), (j, fraction) in tqdm(
            [(a, b) for a in enumerate(thresholds) for b in enumerate(SWEEP_FRACTIONS)], desc="operating points"
        ):
            params = copy.deepcopy(base)
            params["clustering"].update(threshold=float(threshold), min_cluster_fraction=float(fraction))
            pipeline.instantiate(params)
            der, errors = DiarizationErrorRate(collar=0.0), []
            for file in files:
                uem = get_annotated(file)
                hypothesis = pipeline(file)
                der(file["annotation"], hypothesis, uem=uem)
                errors.append(num_speakers_in(hypothesis, uem) - num_speakers_in(file["annotation"], uem))
            grid["DER"][i, j] = 100 * abs(der)
            grid["exact"][i, j] = 100 * np.mean(np.equal(errors, 0))
            grid["bias"][i, j] = np.mean(errors)
    finally:
        pipeline.training = False
        pipeline.instantiate(base)
    return grid


def main_sweep(args) -> int:
    """``--sweep``: the operating-point grid of each pipeline, on development."""
    from pyannote.audio import Pipeline

    from pyannote_resnet50.database import get_protocol

    protocol = args.protocols[0]
    files = list(get_protocol(protocol).development())
    grids = {}
    systems = []
    for spec in args.pipeline:
        name, _, config = spec.partition("=")
        pipeline = Pipeline.from_pretrained(config)
        systems.append((name, pipeline))
        if args.oracle:
            systems.append((f"{name}, oracle segmentation", pipeline.oracle_twin()))
    for name, pipeline in systems:
        grid = grids[name] = sweep(pipeline, files)
        print(f"\n{name}, {protocol} development ({len(files)} files): DER % / exact count % / mean count error")
        print("| threshold | " + " | ".join(f"fraction {f:.2f}" for f in grid["fractions"]) + " |")
        print("|---:|" + "---:|" * len(grid["fractions"]))
        for i, threshold in enumerate(grid["thresholds"]):
            print(f"| {threshold:.3f} | " + " | ".join(
                f"{grid['DER'][i, j]:.2f} / {grid['exact'][i, j]:.0f} / {grid['bias'][i, j]:+.2f}"
                for j in range(len(grid["fractions"]))) + " |")
        best = np.unravel_index(np.argmax(grid["exact"]), grid["exact"].shape)
        print(f"most exact counts: {grid['exact'][best]:.0f} % of the files (threshold {grid['thresholds'][best[0]]:.3f}, "
              f"fraction {grid['fractions'][best[1]]:.2f}, DER {grid['DER'][best]:.2f} %); lowest DER "
              f"{grid['DER'].min():.2f} %")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(grids), 2, figsize=(10, 3.6 * len(grids)), squeeze=False)
        for row, (name, grid) in zip(axes, grids.items()):
            for ax, key, cmap in zip(row, ("DER", "exact"), ("viridis_r", "viridis")):
                image = ax.imshow(grid[key], aspect="auto", origin="lower", cmap=cmap)
                ax.set_xticks(range(len(grid["fractions"])), [f"{f:.2f}" for f in grid["fractions"]])
                ax.set_yticks(range(len(grid["thresholds"])), [f"{t:.2f}" for t in grid["thresholds"]])
                ax.set(xlabel="min_cluster_fraction", ylabel="threshold",
                       title=f"{name}: {'DER %' if key == 'DER' else 'exact count, % of files'}")
                fig.colorbar(image, ax=ax)
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="append", required=True, help="NAME=config.yaml (repeatable)")
    parser.add_argument("--protocols", nargs="*", default=list(BENCHMARK_PROTOCOLS))
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the DERs there")
    parser.add_argument("--subset", default="test", choices=["development", "test"],
                        help="subset scored (default: test; development to choose an option without seeing test)")
    parser.add_argument("--forced-split-floor", type=float, action="append", default=None, metavar="FLOOR",
                        help="run each agglomerative pipeline with clustering.forced_split_floor = FLOOR (in [0, 1]; "
                        "repeatable: one row per value; default: the pipeline's, FORCED_SPLIT_FLOOR); only the "
                        "DER with the oracle count depends on it")
    parser.add_argument("--sweep", action="store_true",
                        help="instead: DER and exact-count share of each agglomerative pipeline over a grid of operating "
                        "points, on the development subset of the first protocol")
    parser.add_argument("--oracle", action="store_true", help="with --sweep: also sweep with the reference segmentation")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (default: 2; 1 beside a training run, which the cores are shared with)")
    parser.add_argument("--estimated-only", action="store_true",
                        help="only the real segmentation and the estimated count (no reference-segmentation twin, no "
                        "run with the true count: a third of the time); prints each file's estimated minus true count")
    args = parser.parse_args(argv)
    for floor in args.forced_split_floor or []:  # refused before any model is loaded
        if not 0.0 <= floor <= 1.0:
            parser.error(f"--forced-split-floor must lie in [0, 1], not {floor}.")

    import torch
    from pyannote.audio import Pipeline

    if args.threads < 1:
        parser.error(f"--threads must be at least 1, not {args.threads}.")
    torch.set_num_threads(args.threads)
    if args.sweep:
        return main_sweep(args)
    from pyannote_resnet50.database.benchmarks import benchmark_sets, short_name

    # Conversations' audio is built from ../shared/data when missing; without it the corpus is skipped
    sets = benchmark_sets(args.protocols, args.subset)
    rows = []
    for spec in args.pipeline:
        name, _, config = spec.partition("=")
        pipeline = Pipeline.from_pretrained(config)  # loaded once, whatever the floors
        if args.forced_split_floor and not hasattr(pipeline.clustering, "forced_split_floor"):
            parser.error(f"--forced-split-floor: {name} does not use agglomerative clustering.")
        for floor in args.forced_split_floor or [None]:
            if floor is not None:
                pipeline.clustering.forced_split_floor = floor  # oracle_twin keeps it
            run = name if floor is None else f"{name} floor {floor:g}"
            systems = [("real", pipeline, False)]
            if not args.estimated_only:
                systems.append(("oracle", pipeline.oracle_twin(), True))
            for segmentation, system, oracle in systems:
                for protocol, files in sets.items():
                    scores = count_scores(system, files, oracle, forced=not args.estimated_only)
                    rows.append((run, segmentation, protocol, scores))
                    print(f"{run:>12} | {segmentation:>6} segmentation | {protocol:<34} | "
                          + " | ".join(f"{k} {v:.2f}" for k, v in scores.items() if k != "errors")
                          + f" | estimated - true per file: {' '.join(f'{e:+d}' for e in scores['errors'])}", flush=True)

    print(f"\n| clustering | segmentation | {args.subset} set | DER %, estimated count | DER %, oracle count | exact count % | over / under-counted % |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, segmentation, protocol, s in rows:
        print(f"| {name} | {segmentation} | {short_name(protocol)} | {s['DER estimated']:.2f} | "
              f"{'n/a' if np.isnan(s['DER oracle count']) else format(s['DER oracle count'], '.2f')} | {s['exact']:.0f} | {s['over']:.0f} / {s['under']:.0f} |")

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(10, 4))
        labels = [f"{n}\n{seg} seg.\n{short_name(p)}" for n, seg, p, _ in rows]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [s["DER estimated"] for *_, s in rows], 0.4, label="estimated count")
        if not args.estimated_only:
            ax.bar(x + 0.2, [s["DER oracle count"] for *_, s in rows], 0.4, label="oracle count")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel("DER %")
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

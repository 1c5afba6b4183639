#!/usr/bin/env python
"""Speaker-counting benchmark: each clustering method, with oracle and with real segmentation.

For each pipeline (``--pipeline NAME=config.yaml``, repeatable: one per clustering method,
each tuned on development only, e.g. by ``pyannote-resnet50 optimize ... --clustering X``),
on Mini test and on the 12 real AMI Debug excerpts:

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

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def count_scores(pipeline, files: List[Dict], oracle: bool) -> Dict[str, float]:
    """DER with estimated / oracle count (%), share of exact counts (%), mean |error| of the count."""
    from pyannote.database import get_annotated
    from pyannote.metrics.diarization import DiarizationErrorRate

    estimated, told = DiarizationErrorRate(collar=0.0), DiarizationErrorRate(collar=0.0)
    exact, errors = 0, []
    for file in files:
        inputs = {"uri": file["uri"], "audio": file["audio"]}
        if oracle:
            inputs["annotation"] = file["annotation"]
        uem = get_annotated(file)
        reference = file["annotation"].crop(uem)
        num_speakers = len(reference.labels())
        hypothesis = pipeline(inputs)
        estimated(file["annotation"], hypothesis, uem=uem)
        found = len(hypothesis.crop(uem).labels())
        exact += found == num_speakers
        errors.append(found - num_speakers)
        told(file["annotation"], pipeline(inputs, num_speakers=num_speakers), uem=uem)
    return {
        "DER estimated": 100 * abs(estimated),
        "DER oracle count": 100 * abs(told),
        "exact": 100 * exact / len(files),
        "over": 100 * sum(e > 0 for e in errors) / len(files),
        "under": 100 * sum(e < 0 for e in errors) / len(files),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="append", required=True, help="NAME=config.yaml (repeatable)")
    parser.add_argument("--protocols", nargs="*", default=["Mini.SpeakerDiarization.Simulated", "AMI.SpeakerDiarization.Debug"])
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the DERs there")
    args = parser.parse_args(argv)

    import torch
    from pyannote.audio import Pipeline

    from pyannote_resnet50.database import get_protocol

    torch.set_num_threads(2)
    sets = {name: list(get_protocol(name).test()) for name in args.protocols}
    rows = []
    for spec in args.pipeline:
        name, _, config = spec.partition("=")
        pipeline = Pipeline.from_pretrained(config)
        for segmentation, system, oracle in (("real", pipeline, False), ("oracle", pipeline.oracle_twin(), True)):
            for protocol, files in sets.items():
                scores = count_scores(system, files, oracle)
                rows.append((name, segmentation, protocol, scores))
                print(f"{name:>12} | {segmentation:>6} segmentation | {protocol:<34} | "
                      + " | ".join(f"{k} {v:.2f}" for k, v in scores.items()), flush=True)

    print("\n| clustering | segmentation | test set | DER %, estimated count | DER %, oracle count | exact count % | over / under-counted % |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, segmentation, protocol, s in rows:
        print(f"| {name} | {segmentation} | {protocol.split('.')[0]} | {s['DER estimated']:.2f} | "
              f"{s['DER oracle count']:.2f} | {s['exact']:.0f} | {s['over']:.0f} / {s['under']:.0f} |")

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        fig, ax = plt.subplots(figsize=(10, 4))
        labels = [f"{n}\n{seg} seg.\n{p.split('.')[0]}" for n, seg, p, _ in rows]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [s["DER estimated"] for *_, s in rows], 0.4, label="estimated count")
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

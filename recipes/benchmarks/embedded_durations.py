#!/usr/bin/env python
"""How much speech does the pipeline embed at a time? (sets the embedding's training chunks)

The pipeline computes one embedding per (segmentation chunk, local speaker), pooling the
embedding frames where that local speaker is active (overlap-free frames when there are
enough of them, ``SpeakerDiarization._weights``). This prints the distribution of that
speech duration, per test set, for the segmentation of a pipeline, with and without the
overlap-free restriction, so that the embedding is trained on what it will be given.

Usage
-----
    python -W ignore recipes/benchmarks/embedded_durations.py [--pipeline config.yaml] \\
        [--protocols Mini.SpeakerDiarization.Simulated AMI.SpeakerDiarization.Debug] [--subsets development test]
"""

import argparse
import os

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PERCENTILES = (5, 10, 25, 50, 75, 90)


def embedded_durations(pipeline, file) -> np.ndarray:
    """Seconds of speech pooled into each (chunk, local speaker) embedding of `file`."""
    segmentations = pipeline.binarize(pipeline.get_segmentations(file))
    masks = np.nan_to_num(segmentations.data, nan=0.0)
    clean = masks * (np.sum(masks, axis=2, keepdims=True) < 2)
    step = pipeline._segmentation_frames.step
    frames = np.where(
        clean.sum(axis=1) * step >= pipeline.embedding_min_frames * pipeline.embedding_frames.step,
        clean.sum(axis=1),
        masks.sum(axis=1),
    )
    durations = frames[masks.sum(axis=1) > 0] * step
    return durations


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="default", help="config.yaml (default: the shipped pipeline)")
    parser.add_argument("--protocols", nargs="*", default=["Mini.SpeakerDiarization.Simulated", "AMI.SpeakerDiarization.Debug"])
    parser.add_argument("--subsets", nargs="*", default=["development", "test"])
    args = parser.parse_args(argv)

    import torch
    from pyannote.audio import Pipeline

    import pyannote_resnet50
    from pyannote_resnet50.database import get_protocol

    torch.set_num_threads(2)
    config = pyannote_resnet50.DEFAULT_PIPELINE if args.pipeline == "default" else args.pipeline
    pipeline = Pipeline.from_pretrained(config)
    print(f"segmentation chunks of {pipeline._segmentation_window.duration:g} s, "
          f"embedding frames every {pipeline.embedding_frames.step * 1000:.0f} ms")
    print("| protocol | subset | embeddings | " + " | ".join(f"p{p}" for p in PERCENTILES)
          + " | under 1 s | under 2 s |")
    print("|---|---|---:|" + "---:|" * (len(PERCENTILES) + 2))
    for name in args.protocols:
        protocol = get_protocol(name)
        for subset in args.subsets:
            files = list(getattr(protocol, subset)())
            durations = np.concatenate([embedded_durations(pipeline, file) for file in files])
            cells = " | ".join(f"{q:.2f} s" for q in np.percentile(durations, PERCENTILES))
            print(f"| {name.split('.')[0]} | {subset} | {len(durations)} | {cells} | "
                  f"{np.mean(durations < 1) * 100:.0f} % | {np.mean(durations < 2) * 100:.0f} % |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

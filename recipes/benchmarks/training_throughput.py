#!/usr/bin/env python
"""Training throughput of ResNet50 configurations on CPU (forward + backward + Adam step).

    python -W ignore recipes/benchmarks/training_throughput.py

Prints, for each (base_width, stem_stride, stem_max_pool), the number of parameters,
the seconds per step of a batch of 32 random 3 s chunks and the audio-seconds processed
per second (time of the third step; torch on `--threads` threads). Run it on an idle
machine: it measures wall-clock time.
"""

import argparse
import time

import torch

from pyannote_resnet50.models import ResNet50

CONFIGS = [(16, 2, True), (32, 2, True), (16, 2, False), (8, 1, False)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'base_width':>10} {'stem_stride':>11} {'max_pool':>8} {'params':>7} {'s/step':>7} {'audio-s/s':>9}")
    for base_width, stride, max_pool in CONFIGS:
        model = ResNet50(base_width=base_width, stem_stride=stride, stem_max_pool=max_pool)
        x = torch.randn(args.batch_size, 1, int(args.duration * 16000))
        optimizer = torch.optim.Adam(model.parameters())
        for _ in range(3):
            start = time.perf_counter()
            model(x).pow(2).mean().backward()
            optimizer.step()
            optimizer.zero_grad()
        elapsed = time.perf_counter() - start
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{base_width:>10} {stride:>11} {str(max_pool):>8} {params:>6.1f}M {elapsed:>7.2f} "
              f"{args.batch_size * args.duration / elapsed:>9.0f}")


if __name__ == "__main__":
    main()

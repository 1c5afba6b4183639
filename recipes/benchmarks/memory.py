#!/usr/bin/env python
"""Memory benchmark: peak RSS of diarization on long recordings, and of a Mini training run.

Diarization: the pipeline (``--pipeline``, default: the shipped
``pyannote_resnet50.DEFAULT_PIPELINE``) on simulated recordings of each of
``--durations`` (recordings longer than an hour repeat the simulated hour), each in a
fresh subprocess: the ``_speed`` mode of ``recipes/benchmarks/diarization.py`` (same
recordings, same child, same ``os.wait4`` rusage). Besides wall time, CPU time and peak
RSS of the child (``ru_maxrss``: imports and model loading included), it prints the peak
RSS reached by the end of each pipeline step, to tell which one sets the peak.

Training (``--training segmentation`` or ``embedding``): ``recipes/mini/train_<task>.sh``
for one epoch in a temporary folder. Training forks data-loading workers, so two figures:
the peak RSS of its largest process (``ru_maxrss``) and the peak of the summed PSS
(proportional set size: pages shared by the processes counted once) of the whole process
tree, sampled twice a second.

Usage
-----
    nice -n 19 python recipes/benchmarks/memory.py --durations 3600 14400 --threads 1 --workdir /tmp/bw
    nice -n 19 python recipes/benchmarks/memory.py --durations --training segmentation embedding
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import diarization as benchmark  # noqa: E402  (recipes/benchmarks/diarization.py)

ROOT = Path(__file__).resolve().parents[2]
#: pipeline steps, as reported to its hook, and their column names
STEPS = {"segmentation": "segmentation", "speaker_counting": "speaker counting", "embeddings": "embeddings",
         "discrete_diarization": "clustering + reconstruction", "end": "the whole call"}


def diarization_memory(args) -> None:
    directory = Path(args.workdir or tempfile.mkdtemp(prefix="memory-benchmark-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nDiarization: {args.pipeline or 'shipped default pipeline'}, CPU, torch {args.threads} thread(s), "
          f"simulated recordings, one subprocess per run; peak RSS in MB")
    print("| recording | wall time (s) | CPU time (s) | peak RSS | after loading | "
          + " | ".join(f"by end of {name}" for name in STEPS.values()) + " |")
    print("|---:|---:|---:|---:|---:|" + "---:|" * len(STEPS))
    for duration in args.durations:
        audio = benchmark.simulate(directory, duration)
        command = benchmark.speed_command(args, "ours", audio)
        output, rusage, returncode, timed_out = benchmark.run_child(command, args.timeout)
        cpu = rusage.ru_utime + rusage.ru_stime
        if timed_out or returncode != 0 or not output:
            status = f"> {args.timeout:g} (timeout)" if timed_out else f"failed (exit {returncode})"
            print(f"| {duration / 60:g} min | {status} | {cpu:.1f} |" + " |" * (len(STEPS) + 2), flush=True)
            continue
        result = json.loads(output[-1])
        steps = result["steps_rss_mb"]
        print(f"| {duration / 60:g} min | {result['diarization_s']:.1f} | {cpu:.1f} | {rusage.ru_maxrss / 1024:.0f} | "
              f"{result['loaded_rss_mb']:.0f} | "
              + " | ".join(f"{steps[step]:.0f}" if step in steps else "" for step in STEPS) + " |", flush=True)


# ~~~~ training ~~~~

def process_tree(pid: int) -> List[int]:
    """`pid` and all its descendants (Linux /proc)"""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    queue.extend(int(child) for child in children.read().split())
        except OSError:  # ended meanwhile
            continue
    return tree


def memory_of(pid: int) -> Dict[str, int]:
    """Rss and Pss of process `pid`, in kB (zeros when it has ended)"""
    usage = {"Rss": 0, "Pss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                key, _, value = line.partition(":")
                if key in usage:
                    usage[key] = int(value.split()[0])
    except OSError:
        pass
    return usage


class TreeSampler:
    """Peak of the summed Pss and Rss of a process tree, sampled at each call"""

    def __init__(self):
        self.peak_pss = self.peak_rss = self.max_processes = 0

    def __call__(self, pid: int) -> None:
        tree = process_tree(pid)
        usages = [memory_of(process) for process in tree]
        self.peak_pss = max(self.peak_pss, sum(usage["Pss"] for usage in usages))
        self.peak_rss = max(self.peak_rss, sum(usage["Rss"] for usage in usages))
        # bash, pyannote-audio-train and its data-loading workers
        self.max_processes = max(self.max_processes, sum(usage["Rss"] > 0 for usage in usages))


def training_memory(args) -> None:
    overrides = f" {' '.join(args.overrides)}" if args.overrides else ""
    print(f"\nTraining on Mini: recipes/mini/train_<task>.sh{overrides}, one epoch, torch {args.threads} thread(s); MB")
    print("| task | wall time (s) | CPU time (s) | peak RSS, largest process | peak summed PSS, process tree "
          "| peak summed RSS | processes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    for task in args.training:
        output_dir = Path(tempfile.mkdtemp(prefix=f"memory-{task}-"))
        command = ["bash", str(ROOT / "recipes" / "mini" / f"train_{task}.sh"), str(output_dir / "run"),
                   "00:00:30:00", "trainer.max_epochs=1"] + args.overrides
        sampler = TreeSampler()
        start = time.perf_counter()
        log = output_dir / "log.txt"
        with open(log, "w") as stdout:
            _, rusage, returncode, timed_out = benchmark.run_child(
                command, args.timeout, stdout=stdout, stderr=subprocess.STDOUT, poll=sampler, env=env
            )
        wall = time.perf_counter() - start
        cpu = rusage.ru_utime + rusage.ru_stime
        status = "timeout" if timed_out else (f"failed (exit {returncode}, log {log})" if returncode else f"{wall:.0f}")
        print(f"| {task} | {status} | {cpu:.0f} | {rusage.ru_maxrss / 1024:.0f} | {sampler.peak_pss / 1024:.0f} | "
              f"{sampler.peak_rss / 1024:.0f} | {sampler.max_processes} |", flush=True)
        if returncode == 0 and not args.keep:
            shutil.rmtree(output_dir, ignore_errors=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", default=None, help="config.yaml (default: the shipped pipeline)")
    parser.add_argument("--durations", nargs="*", type=float, default=[3600.0, 14400.0],
                        help="durations (s) of the simulated recordings (none: skip diarization)")
    parser.add_argument("--training", nargs="*", default=[], choices=["segmentation", "embedding"],
                        help="also measure one epoch of these Mini training recipes")
    parser.add_argument("--overrides", nargs="*", default=[],
                        help="extra Hydra overrides of the training runs (e.g. task.num_classes_per_batch=16)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600.0, help="time limit of one run (s)")
    parser.add_argument("--workdir", default=None, help="where simulated recordings are written")
    parser.add_argument("--keep", action="store_true", help="keep the training runs' folders")
    args = parser.parse_args(argv)
    if args.pipeline is None:
        import pyannote_resnet50

        args.pipeline = str(pyannote_resnet50.DEFAULT_PIPELINE)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.durations:
        diarization_memory(args)
    if args.training:
        training_memory(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

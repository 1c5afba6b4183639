#!/usr/bin/env python
"""Start-up benchmark of the command line: wall time and peak memory of commands that do no work.

Each command runs ``--repeat`` times in a fresh interpreter (the installed ``pyannote-resnet50``
entry point, or ``python -c``); the table gives the median wall time and the largest peak
resident memory (``ru_maxrss`` of the child). The commands: ``--help``, ``--version``, each
sub-command's ``--help``, and ``import pyannote_resnet50``. README (Command line) quotes it;
``tests/test_cli.py`` checks that none of them imports torch.

Usage
-----
    python recipes/benchmarks/startup.py [--repeat 5]
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(command, repeat: int):
    """(median wall time in s, peak RSS in MB) of `command` over `repeat` runs"""
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        # each run in its own child process: its ru_maxrss is that process's peak
        pid = os.fork()
        if pid == 0:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 1)
                os.dup2(devnull.fileno(), 2)
            os.execvp(command[0], command)
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default: 5)")
    args = parser.parse_args()
    from pyannote_resnet50.cli import COMMANDS

    cli = str(BIN / "pyannote-resnet50")
    commands = [("pyannote-resnet50 --help", [cli, "--help"]), ("pyannote-resnet50 --version", [cli, "--version"])]
    commands += [(f"pyannote-resnet50 {name} --help", [cli, name, "--help"]) for name in COMMANDS]
    commands += [("python -c 'import pyannote_resnet50'", [sys.executable, "-c", "import pyannote_resnet50"]),
                 ("python -c 'import pyannote_resnet50.pipelines' (torch, pyannote.audio)",
                  [sys.executable, "-W", "ignore", "-c", "import pyannote_resnet50.pipelines"])]
    print(f"| command | wall time s (median of {args.repeat}) | peak RSS MB |")
    print("|---|---:|---:|")
    for name, command in commands:
        seconds, megabytes = run(command, args.repeat)
        print(f"| `{name}` | {seconds:.2f} | {megabytes:.0f} |", flush=True)
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"this process's peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

"""``pyannote-resnet50 mini``: build the Mini corpus (see :mod:`pyannote_resnet50.database.mini`)."""

import argparse
import time
from pathlib import Path

#: subsets of the Mini protocol (``pyannote_resnet50.database.mini.SUBSETS``, which imports torch)
SUBSETS = ("train", "development", "test")


def main(argv=None) -> int:
    """Build the Mini corpus: annotations (committed) and audio (generated).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 mini",
        description="Simulate the Mini corpus (VoxConverse-like conversations of real LibriSpeech "
        "speakers, speakers disjoint across train / development / test). Idempotent: the same "
        "seed rewrites identical files.",
    )
    parser.add_argument("--output", type=Path, default=None,
                        help="output folder (default: the package's data/mini, where the protocol reads it)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the committed corpus)")
    for subset in SUBSETS:
        parser.add_argument(f"--num-{subset}", type=int, default=None,
                            help=f"number of {subset} recordings (default: the committed corpus's)")
    parser.add_argument("--annotations-only", action="store_true", help="do not write audio")
    args = parser.parse_args(argv)

    from ..database.mini import MINI_DIR, NUM_FILES, PROTOCOL, build_mini

    args.output = MINI_DIR if args.output is None else args.output
    start = time.perf_counter()
    num_files = {subset: NUM_FILES[subset] if getattr(args, f"num_{subset}") is None
                 else getattr(args, f"num_{subset}") for subset in SUBSETS}
    written = build_mini(
        args.output, seed=args.seed, num_files=num_files, write_audio=not args.annotations_only, progress=True
    )
    elapsed = time.perf_counter() - start
    for name, path in written.items():
        print(f"{name:>22}  {path}")
    if not args.annotations_only:
        print(f"{'audio':>22}  {args.output / 'wav'} ({sum(num_files.values())} files)")
    print(f"Mini built in {elapsed:.1f} s; protocol {PROTOCOL}.")
    return 0

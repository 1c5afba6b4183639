"""``pyannote-resnet50 eda``: statistics of a protocol from its RTTMs and UEMs (no audio)."""

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    """Print the statistics of the subsets of a protocol and optionally plot them.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 eda",
        description="Exploratory data analysis of a speaker diarization protocol, from its "
        "RTTM / UEM files alone (audio is never opened). Annotation files are validated first.",
    )
    parser.add_argument("protocol", help="e.g. VoxConverse.SpeakerDiarization.Full")
    parser.add_argument(
        "--subset", action="append", choices=["train", "development", "test"],
        help="subset to describe (repeatable; default: every subset of the protocol)",
    )
    parser.add_argument("--figure", type=Path, default=None, help="write a PNG figure there")
    parser.add_argument("--database", "--database-yml", dest="database_yml", type=Path, default=None,
                        help="database.yml (default: $PYANNOTE_DATABASE_CONFIG or the checkout's)")
    args = parser.parse_args(argv)

    from ..database.eda import plot_stats, protocol_stats

    try:
        stats = protocol_stats(args.protocol, subsets=args.subset, database_yml=args.database_yml)
    except (ValueError, FileNotFoundError) as error:
        print(f"pyannote-resnet50 eda: {error}", file=sys.stderr)
        return 1
    print("\n\n".join(s.format() for s in stats))
    if args.figure:
        print(f"\nfigure: {plot_stats(stats, args.figure)}")
    return 0

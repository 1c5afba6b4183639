"""``pyannote-resnet50 simulate``: simulated VoxConverse-like recordings (wav, RTTM, UEM, list)."""

import argparse
import time
from pathlib import Path

from ..database.simulator import (
    LIBRISPEECH_DIR,
    SimulationConfig,
    load_sources,
    simulate_recordings,
    write_recordings,
)


def _range(text: str):
    """Parse "A" or "A:B" into a (low, high) pair of floats."""
    low, _, high = text.partition(":")
    return float(low), float(high or low)


def main(argv=None) -> int:
    """Simulate recordings into a folder usable as a pyannote.database subset.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 simulate",
        description="Simulate VoxConverse-like conversations from single-speaker utterances "
        "(EEND-style turn-taking with exponential pauses, negative pauses for overlap, "
        "per-speaker / per-turn gains, coloured noise). Writes OUTPUT/wav/{uri}.wav and "
        "OUTPUT/{name}.{lst,rttm,uem}.",
    )
    parser.add_argument("output", type=Path, help="output folder")
    parser.add_argument("--name", default="simulated", help="subset name of the lst/rttm/uem files")
    parser.add_argument("--num-files", type=int, default=1, help="number of recordings (default: 1)")
    parser.add_argument(
        "--duration", type=_range, default=(30.0, 90.0),
        help="duration in seconds, or range LOW:HIGH (default: 30:90); e.g. 600 or 3600 for benchmarks",
    )
    parser.add_argument(
        "--num-speakers", type=_range, default=None,
        help="speakers per recording, or range LOW:HIGH (default: VoxConverse dev distribution capped at 6)",
    )
    parser.add_argument("--overlap", type=float, default=0.04, help="share of overlapped speech (default: 0.04)")
    parser.add_argument("--mean-pause", type=float, default=0.4, help="mean pause between turns, seconds")
    parser.add_argument("--snr", type=_range, default=(10.0, 30.0), help="SNR in dB, or range LOW:HIGH (default: 10:30)")
    parser.add_argument("--sources", type=Path, default=LIBRISPEECH_DIR, help="folder of {speaker}-*.flac utterances")
    parser.add_argument("--speakers", type=Path, default=None, help="text file of speaker ids to draw from (one per line)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uri-prefix", default="sim", help="uri of file i is {prefix}{i:03d}")
    args = parser.parse_args(argv)

    speakers = args.speakers.read_text().split() if args.speakers else None
    sources = load_sources(args.sources, speakers)
    config = SimulationConfig(overlap=args.overlap, mean_pause=args.mean_pause, snr=args.snr)

    def recordings():
        from tqdm.auto import tqdm

        num_speakers = None if args.num_speakers is None else tuple(map(int, args.num_speakers))
        generator = simulate_recordings(
            sources, args.num_files, seed=(args.seed,), duration=args.duration,
            num_speakers=num_speakers, config=config, prefix=args.uri_prefix,
        )
        yield from tqdm(generator, total=args.num_files, desc="simulate", unit="file")

    start = time.perf_counter()
    written = write_recordings(recordings(), args.output, args.name)
    elapsed = time.perf_counter() - start
    for kind, path in written.items():
        print(f"{kind:>5}  {path}")
    print(f"  wav  {args.output / 'wav'}/{{uri}}.wav")
    print(f"{args.num_files} recording(s) simulated in {elapsed:.1f} s. database.yml entry:")
    output = args.output.resolve()
    print(
        f"  Databases:\n    Simulated: {output}/wav/{{uri}}.wav\n"
        f"  Protocols:\n    Simulated:\n      SpeakerDiarization:\n        {args.name}:\n          scope: file\n"
        f"          test:\n            uri: {output}/{args.name}.lst\n"
        f"            annotation: {output}/{args.name}.rttm\n            annotated: {output}/{args.name}.uem"
    )
    return 0

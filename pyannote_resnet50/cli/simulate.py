"""``pyannote-resnet50 simulate``: simulated VoxConverse-like recordings (wav, RTTM, UEM, list)."""

import argparse
import time
from pathlib import Path


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
        "per-speaker / per-turn gains, coloured noise; with --preset voxconverse: VoxConverse turn "
        "lengths, real noise, noise-only stretches, reverberation, band-limiting). Writes "
        "OUTPUT/wav/{uri}.wav and OUTPUT/{name}.{lst,rttm,uem}.",
        epilog="Realistic training data from the ReadSpeech corpora (speakers of one subset only):\n"
        "  pyannote-resnet50 simulate sim --name train --num-files 60 --duration 120:300 --preset voxconverse \\\n"
        "      --readspeech ../shared/data --speakers-subset train \\\n"
        "      --noise ../shared/data/noise/noise --rir ../shared/data/noise/rir",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.add_argument("--bridge", type=float, default=0.9,
                        help="a speaker's pauses shorter than this (seconds) that no one else fills are "
                        "labelled as speech, VoxConverse's convention (default: 0.9, which gives "
                        "VoxConverse dev's pause statistic; 0: every pause of 0.2 s or more unlabelled)")
    parser.add_argument("--snr", type=_range, default=(10.0, 30.0), help="SNR in dB, or range LOW:HIGH (default: 10:30)")
    parser.add_argument(
        "--noise-only", type=float, default=None,
        help="probability that a pause becomes a 2-15 s stretch of noise or music with no speaker "
        "(--preset voxconverse; default 0.05)",
    )
    parser.add_argument("--noise-only-music", type=float, default=None,
                        help="probability that a noise-only stretch drawn from --noise is music (files named "
                        "*music*; default: every noise file equally likely)")
    parser.add_argument("--noise-only-colored", type=float, default=None,
                        help="probability that a noise-only stretch is coloured Gaussian noise, white to brown "
                        "(default: the preset's share of coloured background noise, 0.3)")
    parser.add_argument("--sources", type=Path, default=None,
                        help="folder of {speaker}-*.flac utterances (default: the LibriSpeech utterances shipped "
                        "in the package)")
    parser.add_argument("--speakers", type=Path, default=None, help="text file of speaker ids to draw from (one per line)")
    parser.add_argument("--preset", choices=["mini", "voxconverse"], default="mini",
                        help="mini: the Mini corpus's simulation (uniform 1-6 s turns, coloured noise); voxconverse: "
                        "log-normal turns as VoxConverse dev, 42%% same-speaker turns, real noise (--noise), noise-only "
                        "stretches, reverberation (--rir and simulated rooms), band-limiting (default: mini)")
    parser.add_argument("--readspeech", type=Path, default=None,
                        help="folder holding librispeech/ and speechocean762/ (e.g. ../shared/data): draw speakers of the "
                        "ReadSpeech protocol (--speakers-subset) instead of --sources")
    parser.add_argument("--speakers-subset", choices=["train", "development", "test"], default="train",
                        help="ReadSpeech subset whose speakers are drawn (with --readspeech; default: train)")
    parser.add_argument("--voices", type=Path, default=None,
                        help="folder holding every shared corpus (e.g. ../shared/data): draw speakers of the Voices "
                        "protocol (--speakers-subset; LibriSpeech, speechocean762, Common Voice, Arabic) instead of --sources")
    parser.add_argument("--corpora", default=None,
                        help="with --voices: comma-separated identity prefixes to keep (LS, SO, CV, AR; default: all), "
                        "e.g. CV for conversations of held-out Common Voice speakers")
    parser.add_argument("--noise", type=Path, default=None,
                        help="folder of real noise files: background noise and noise-only stretches (the held-out "
                        "noises of pyannote_resnet50.augmentation.HELD_OUT_NOISES are left out unless --held-out-noise)")
    parser.add_argument("--held-out-noise", action="store_true",
                        help="use only the held-out noise files of --noise (evaluation data)")
    parser.add_argument("--rir", type=Path, default=None, help="folder of measured room impulse responses")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uri-prefix", default="sim", help="uri of file i is {prefix}{i:03d}")
    args = parser.parse_args(argv)

    from ..augmentation import held_out_noise_files, training_noise_files
    from ..database.registry import DATA_DIR
    from ..database.simulator import (
        LIBRISPEECH_DIR,
        SimulationConfig,
        load_sources,
        readspeech_sources,
        simulate_recordings,
        write_recordings,
    )

    args.sources = LIBRISPEECH_DIR if args.sources is None else args.sources
    speakers = args.speakers.read_text().split() if args.speakers else None
    if args.readspeech is not None and args.voices is not None:
        parser.error("give --readspeech or --voices, not both.")
    if args.corpora is not None and args.voices is None:
        parser.error("--corpora needs --voices.")
    if args.readspeech is not None or args.voices is not None:
        protocol = "readspeech" if args.readspeech is not None else "voices"
        if speakers is None:
            speakers = (DATA_DIR / protocol / f"speakers.{args.speakers_subset}.txt").read_text().split()
        if args.corpora is not None:
            prefixes = tuple(c.strip() for c in args.corpora.split(",") if c.strip())
            unknown = sorted(set(prefixes) - {"LS", "SO", "CV", "AR"})
            if unknown or not prefixes:
                parser.error(f"--corpora takes identity prefixes among LS, SO, CV, AR, got {args.corpora!r}.")
            speakers = [s for s in speakers if s.startswith(prefixes)]
        sources = readspeech_sources(args.readspeech or args.voices, speakers)
    else:
        sources = load_sources(args.sources, speakers)
    noise = None
    if args.noise is not None:
        noise = (held_out_noise_files if args.held_out_noise else training_noise_files)(args.noise)
    rir = [args.rir] if args.rir is not None else None
    if args.bridge < 0:
        parser.error(f"--bridge is a duration in seconds (>= 0), got {args.bridge}.")
    explicit = {a: getattr(args, a) for a in ("overlap", "mean_pause", "snr") if getattr(args, a) != parser.get_default(a)}
    explicit["bridge"] = args.bridge
    for name in ("noise_only", "noise_only_music", "noise_only_colored"):
        value = getattr(args, name)
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        if not 0.0 <= value <= 1.0:
            parser.error(f"{option} is a probability in [0, 1], got {value}.")
        if args.preset != "voxconverse":
            parser.error(f"{option} needs --preset voxconverse (the mini preset has no noise-only stretches).")
        explicit[name] = value
    if args.preset == "voxconverse":
        config = SimulationConfig.voxconverse(noise=noise, rir=rir, **explicit)
    else:
        config = SimulationConfig(overlap=args.overlap, mean_pause=args.mean_pause, snr=args.snr, noise=noise, rir=rir,
                                  bridge=args.bridge)

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

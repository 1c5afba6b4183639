"""``pyannote-resnet50 optimize``: tune the diarization pipeline on a development subset.

Example
-------
    pyannote-resnet50 optimize Mini.SpeakerDiarization.Simulated exp/pipeline --trials 50
    # then
    pyannote-resnet50 apply exp/pipeline/config.yaml Mini.SpeakerDiarization.Simulated --output hyp.rttm
"""

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 optimize",
        description="Tune the hyper-parameters of pyannote_resnet50.pipelines.SpeakerDiarization "
        "(diarization error rate on a protocol subset) and write OUTPUT_DIR/config.yaml, loadable "
        "with pyannote.audio.Pipeline.from_pretrained. Re-running resumes the study "
        "(OUTPUT_DIR/trials.sqlite).",
    )
    parser.add_argument("protocol", help="e.g. Mini.SpeakerDiarization.Simulated; several joined by '+' "
                        "(e.g. Mini.SpeakerDiarization.Simulated+Conversations.SpeakerDiarization.CommonVoice) "
                        "pool the files of their --subset")
    parser.add_argument("output_dir", help="where config.yaml, checkpoints and trials.sqlite go")
    parser.add_argument("--subset", default="development", help="subset to tune on (default: development)")
    parser.add_argument("--segmentation", default=None,
                        help="segmentation checkpoint, or 'oracle' (upper bound) (default: the shipped "
                        "pipeline's, pyannote_resnet50/data/checkpoints/segmentation-voices.ckpt)")
    parser.add_argument("--embedding", default=None, help="embedding checkpoint (default: the shipped pipeline's, "
                        "pyannote_resnet50/data/checkpoints/embedding-voices.ckpt)")
    parser.add_argument("--trials", type=int, default=50, help="total number of trials of the study (default: 50)")
    parser.add_argument("--sampler", default="TPESampler", choices=["TPESampler", "RandomSampler"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--segmentation-step", type=float, default=0.5,
                        help="segmentation window step, as a ratio of its duration (default: 0.5)")
    parser.add_argument("--segmentation-duration", type=float, default=None, metavar="SECONDS",
                        help="chunk duration of the segmentation (default: the one the model was trained on)")
    parser.add_argument("--segmentation-batch-size", type=int, default=32)
    parser.add_argument("--embedding-batch-size", type=int, default=32)
    parser.add_argument("--tune-segmentation-threshold", action="store_true",
                        help="also tune segmentation.threshold of a multilabel model (slow)")
    parser.add_argument("--cache", action="store_true",
                        help="also cache segmentation and embeddings on disk (OUTPUT_DIR/cache)")
    parser.add_argument("--clustering", default="AgglomerativeClustering",
                        choices=["AgglomerativeClustering", "SpectralClustering", "VBxClustering"],
                        help="clustering method (default: AgglomerativeClustering; SpectralClustering "
                             "estimates the number of speakers by eigengap, no threshold; VBxClustering: "
                             "AHC + variational-Bayes HMM in PLDA space, needs --plda)")
    parser.add_argument("--plda", default=None,
                        help="PLDA file of VBxClustering, trained on the embedding's embeddings by "
                             "`python -m pyannote_resnet50.pipelines.plda` (default: "
                             "pyannote_resnet50/data/checkpoints/plda-voices.npz, the shipped embedding's)")
    parser.add_argument("--local-speaker-check", default=None,
                        choices=["none", "split_halves", "uniform_windows", "reassign_windows"],
                        help="check of the local speakers (default: the shipped pipeline's, reassign_windows; "
                             "none: no check). split_halves: a "
                             "local speaker whose halves have distant embeddings (two voices the segmentation "
                             "took for one) is split in two; also tunes local_speakers.threshold and "
                             "local_speakers.min_duration (see pyannote_resnet50.pipelines.local_speakers); "
                             "uniform_windows: every local speaker cut by 2.5 s windows of the chunk, each part "
                             "embedded and clustered on its own (pyannote_resnet50.pipelines.uniform_windows); "
                             "reassign_windows: clustering as none, then each 2.5 s window part of a local "
                             "speaker goes to the closest speaker; also tunes resegmentation.margin and "
                             "resegmentation.min_duration (pyannote_resnet50.pipelines.resegmentation)")
    parser.add_argument("--uniform-window", type=float, default=None, metavar="SECONDS",
                        help="window duration of uniform_windows and reassign_windows (default: 2.5, the "
                             "shipped pipeline's)")
    parser.add_argument("--freeze", action="append", default=[], metavar="NAME",
                        help="keep a hyper-parameter group (clustering, segmentation) or one hyper-parameter "
                             "(clustering.threshold) at the shipped pipeline's value instead of tuning it; "
                             "repeatable (e.g. --local-speaker-check reassign_windows --freeze clustering "
                             "--freeze segmentation tunes the check alone)")
    add_runtime_arguments(parser)
    return parser.parse_args(argv)


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """--database, --device and --threads options shared by `optimize` and `apply`."""
    parser.add_argument("--database", "--database-yml", default=None,
                        help="database.yml (default: $PYANNOTE_DATABASE_CONFIG or the checkout's)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def setup_runtime(args: argparse.Namespace) -> None:
    """Never reach huggingface.co; set the number of torch CPU threads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def shipped_local_speaker_check() -> str:
    """``local_speaker_check`` of the shipped pipeline (``DEFAULT_CONFIG``; "none" when it has none)"""
    import yaml

    from pyannote_resnet50.pipelines.utils import DEFAULT_CONFIG

    return yaml.safe_load(DEFAULT_CONFIG.read_text())["pipeline"]["params"].get("local_speaker_check", "none")


def check_inputs(args: argparse.Namespace, files) -> None:
    """Refuse, before any work, what `optimize` would fail on or must not write

    An output folder that is a file, checkpoints the safe loader refuses (or URLs), and
    with ``--cache`` uris that would lead out of the cache folder.

    Raises
    ------
    ValueError, FileNotFoundError
        Naming the option and the file or uri.
    """
    from pyannote_resnet50.core.batch import check_output_dir
    from pyannote_resnet50.core.uri import check_uris
    from pyannote_resnet50.models.checkpoint import load_checkpoint, model_class
    from pyannote_resnet50.pipelines import ORACLE
    from pyannote_resnet50.pipelines.utils import resolve_checkpoint

    from pyannote_resnet50.pipelines.optimize import check_freeze

    check_output_dir(args.output_dir, option="OUTPUT_DIR")
    try:
        check_freeze(args.freeze)
    except ValueError as error:
        raise ValueError(f"--{error}") from None
    for option, checkpoint in (("--segmentation", args.segmentation), ("--embedding", args.embedding)):
        if checkpoint is None or checkpoint == ORACLE:
            continue
        try:
            path = resolve_checkpoint(checkpoint, None)
            model_class(load_checkpoint(path), path)
        except (ValueError, FileNotFoundError) as error:
            raise (FileNotFoundError if isinstance(error, FileNotFoundError) else ValueError)(
                f"{option}: {error}") from None
    if args.cache:
        check_uris(file["uri"] for file in files)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_runtime(args)

    from pyannote_resnet50.database.conversations import CORPORA as CONVERSATIONS
    from pyannote_resnet50.database.conversations import ensure_conversations
    from pyannote_resnet50.database.registry import get_protocol
    from pyannote_resnet50.pipelines.optimize import optimize, pooled_files

    try:  # unknown protocol or subset, malformed annotation files: say what to fix
        names = [name for name in args.protocol.split("+") if name]
        for name in names:
            if name in CONVERSATIONS:  # committed annotations; the audio is built from ../shared on first use
                ensure_conversations(corpus=name)
        protocol = [get_protocol(name, database_yml=args.database) for name in names]
        files = pooled_files(protocol, args.subset)
    except (ValueError, FileNotFoundError) as error:
        print(f"pyannote-resnet50 optimize: {error}", file=sys.stderr)
        return 1
    try:  # refused before any work: nothing is written
        check_inputs(args, files)
    except (ValueError, FileNotFoundError) as error:
        print(f"pyannote-resnet50 optimize: error: {error}", file=sys.stderr)
        return 2
    check = args.local_speaker_check or shipped_local_speaker_check()
    result = optimize(
        protocol if len(protocol) > 1 else protocol[0],
        args.output_dir,
        subset=args.subset,
        segmentation=args.segmentation,
        embedding=args.embedding,
        num_trials=args.trials,
        sampler=args.sampler,
        seed=args.seed,
        tune_segmentation_threshold=args.tune_segmentation_threshold,
        cache=args.cache,
        segmentation_step=args.segmentation_step,
        segmentation_batch_size=args.segmentation_batch_size,
        embedding_batch_size=args.embedding_batch_size,
        clustering=args.clustering,
        # config.yaml keeps the path: absolute, so that it does not depend on the working directory
        **({"plda": str(Path(args.plda).resolve())} if args.plda else {}),
        # saved in config.yaml (pipeline.params) only when used: "none" writes the config as before
        **({"local_speaker_check": check} if check != "none" else {}),
        **({"uniform_window": args.uniform_window} if args.uniform_window is not None else {}),
        **({"segmentation_duration": args.segmentation_duration} if args.segmentation_duration is not None else {}),
        device=args.device,
        freeze=args.freeze,
    )
    print(f"best diarization error rate on {args.protocol} {args.subset}: {100 * result['loss']:.2f}% "
          f"({result['num_trials']} trials)")
    print(f"best hyper-parameters: {result['params']}")
    print(f"pipeline: {result['config']}")
    return 0

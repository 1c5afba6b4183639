"""``pyannote-resnet50 diarize``: diarize your own audio, one RTTM (and PNG) per file.

Example
-------
    pyannote-resnet50 diarize my.wav --output-dir out --plot          # out/my.rttm, out/my.png
    pyannote-resnet50 diarize recordings/ 'more/**/*.flac' --output-dir out --reference refs/ --plot
    pyannote-resnet50 diarize corpus/ --output-dir out --shard 2/8 --workers 2   # job 2 of 8
"""

import argparse
import glob
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pyannote_resnet50.core.batch import (
    Job,
    add_batch_arguments,
    check_batch_arguments,
    check_output_dir,
    check_pipeline_options,
    check_settings,
    load_pipeline,
    pipeline_fingerprint,
    plural,
    run_jobs,
    score,
    select_shard,
)
from pyannote_resnet50.cli.optimize import setup_runtime
from pyannote_resnet50.core.uri import check_uris as check_output_names

#: extensions looked for in folders and glob matches
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aif", ".aiff")
#: those that pyannote.audio 3.4 reads here (torchaudio 2.8's soundfile backend: libsndfile)
READABLE_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aif", ".aiff")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 diarize",
        description="Diarize audio files: write OUTPUT_DIR/{uri}.rttm per file (uri: the file name without "
        "its extension), written atomically. Running the same command again skips the files already done "
        "and retries the failed ones; a file that fails is reported and the others go on (exit code 1 "
        "when any failed).",
    )
    parser.add_argument("audio", nargs="+",
                        help=f"audio files, folders (searched recursively for {' '.join(AUDIO_EXTENSIONS)}; hidden "
                             "files skipped) or quoted glob patterns ('data/**/*.wav')")
    parser.add_argument("--output-dir", required=True, type=Path, help="where {uri}.rttm (and {uri}.png) go")
    parser.add_argument("--pipeline", default="default",
                        help="'default' (the shipped pipeline, pyannote_resnet50.DEFAULT_PIPELINE) or a pipeline "
                             "config.yaml (e.g. written by `pyannote-resnet50 optimize`) (default: default)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference RTTM file, or folder of *.rttm files: drawn by --plot with the DER in "
                             "the title, and the DER over all files is printed at the end")
    add_batch_arguments(parser)
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (per worker)")
    args = parser.parse_args(argv)
    check_batch_arguments(parser, args)
    return args


def collect_audio(inputs: Sequence[str]) -> List[Path]:
    """Audio files named by `inputs` (files, folders, glob patterns), in order, without repeats.

    Raises
    ------
    ValueError
        Naming every input that is missing, or that matches no audio file.
    """
    files, errors = [], []
    for item in inputs:
        path, found = Path(item).expanduser(), []
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                errors.append(f"{item}: folder holds no audio file ({' '.join(AUDIO_EXTENSIONS)})")
        elif path.is_file():
            found = [path]
        elif any(char in item for char in "*?["):
            found = sorted(p for p in map(Path, glob.glob(os.path.expanduser(item), recursive=True))
                           if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
            if not found:
                errors.append(f"{item}: no audio file matches this pattern ({' '.join(AUDIO_EXTENSIONS)})")
        else:
            errors.append(f"{item}: no such file or folder")
        files += found
    if errors:
        raise ValueError("\n  ".join(["cannot read these inputs:", *errors]))
    unique = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def check_uris(files: Sequence[Path], output_dir: Path) -> None:
    """Refuse files whose uri (name without extension) RTTM cannot hold, that cannot name an
    output file (:func:`pyannote_resnet50.core.uri.check_uri`), or that two files share."""
    invalid = [str(p) for p in files if not p.stem or re.search(r"\s", p.stem)]
    if invalid:
        raise ValueError("a uri (the file name without extension) is an RTTM field and cannot contain spaces or "
                         "other whitespace: rename these files (e.g. replace spaces by '_'):\n  " + "\n  ".join(invalid))
    check_output_names(p.stem for p in files)
    by_uri: Dict[str, List[Path]] = {}
    for path in files:
        by_uri.setdefault(path.stem, []).append(path)
    shared = {uri: paths for uri, paths in by_uri.items() if len(paths) > 1}
    if shared:
        raise ValueError(
            "files with the same name would write the same outputs: rename them, or diarize them in separate "
            "runs with different --output-dir:\n  "
            + "\n  ".join(f"{output_dir / uri}.rttm <- {', '.join(map(str, paths))}" for uri, paths in shared.items()))


def load_references(path: Path) -> Dict[str, "Annotation"]:  # noqa: F821
    """{uri: Annotation} of an RTTM file, or of every *.rttm file under a folder."""
    from pyannote.database.util import load_rttm

    if not path.exists():
        raise ValueError(f"--reference {path}: no such RTTM file or folder")
    rttms = sorted(path.rglob("*.rttm")) if path.is_dir() else [path]
    if not rttms:
        raise ValueError(f"--reference {path}: folder holds no *.rttm file")
    references = {}
    for rttm in rttms:
        try:
            references.update(load_rttm(rttm) if rttm.stat().st_size else {})
        except Exception as error:
            raise ValueError(f"--reference {rttm} is not a valid RTTM file ({type(error).__name__}: {error}); "
                             "expected lines 'SPEAKER uri 1 start duration <NA> <NA> speaker <NA> <NA>'") from None
    return references


def _hint(path: Path) -> str:
    if path.suffix.lower() in READABLE_EXTENSIONS:
        return ""
    return (f" (this installation reads {' '.join(READABLE_EXTENSIONS)}: convert the file, e.g. "
            f"`ffmpeg -i '{path}' '{path.with_suffix('.wav')}'`)")


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_runtime(args)

    def refuse(message) -> int:
        print(f"pyannote-resnet50 diarize: error: {message}", file=sys.stderr)
        return 2

    try:
        check_output_dir(args.output_dir)
        files = collect_audio(args.audio)
        check_uris(files, args.output_dir)
        references = load_references(args.reference) if args.reference else {}
    except ValueError as error:
        return refuse(error)
    if args.pipeline == "oracle":
        return refuse("oracle segmentation needs reference annotations: use "
                      "`pyannote-resnet50 apply oracle PROTOCOL`")

    speakers = dict(num_speakers=args.num_speakers, min_speakers=args.min_speakers, max_speakers=args.max_speakers)
    options = {name: value for name, value in speakers.items() if value is not None}
    if args.exclusive:
        options["exclusive"] = True
    jobs = [Job(uri=path.stem, source=str(path), file={"uri": path.stem, "audio": str(path)}, options=options,
                reference=references.get(path.stem), hint=_hint(path))
            for path in select_shard(files, args.shard)]
    if references:
        missing = [job.uri for job in jobs if job.reference is None]
        if missing:
            print(f"no reference in {args.reference} for {plural(len(missing), 'file')}: {' '.join(missing[:10])}"
                  f"{' ...' if len(missing) > 10 else ''}", file=sys.stderr)

    import torch

    try:
        pipeline = load_pipeline(args.pipeline).to(torch.device(args.device))
        check_pipeline_options(pipeline, options)
        check_settings(args.output_dir, {"pipeline_sha256": pipeline_fingerprint(args.pipeline), **speakers,
                                         "exclusive": args.exclusive}, overwrite=args.overwrite)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        return refuse(error)
    if args.workers > 1:
        del pipeline  # each worker loads its own
        pipeline = None

    shard = f" (shard {args.shard[0]}/{args.shard[1]}: {len(jobs)} of {len(files)} files)" if args.shard else ""
    print(f"diarizing {plural(len(jobs), 'file')} into {args.output_dir}{shard}", file=sys.stderr)
    failures = run_jobs(jobs, args.output_dir, pipeline, args.pipeline, device=args.device, plot=args.plot,
                        workers=args.workers, threads=args.threads, overwrite=args.overwrite, desc="diarize")
    result = score(jobs, args.output_dir) if references else None
    if result:
        print(f"DER {100 * result[0]:.2f} % over {plural(result[1], 'file')} with a reference "
              "(pyannote.metrics, no collar, overlapped speech scored)")
    return 1 if failures else 0

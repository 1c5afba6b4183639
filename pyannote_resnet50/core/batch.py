"""Crash-safe batch diarization, shared by ``pyannote-resnet50 apply`` and ``diarize``.

Every file's diarization goes to its own ``{uri}.rttm`` in an output folder, written
atomically (:func:`pyannote_resnet50.core.atomic.atomic_write`): a killed run never leaves a half-written RTTM, and
running the same command again skips the files already done. A file that fails is
reported and the run goes on. Files can be spread over worker processes (``workers``) and
over independent jobs (:func:`select_shard`, ``--shard I/N``) without any coordination:
each job writes its own files into the same folder.

Output names come from uris through :func:`pyannote_resnet50.core.uri.output_path`,
which refuses a uri that would lead out of the output folder.

The output folder also holds ``.run.json``, the settings that determine the diarization
(pipeline files, numbers of speakers, ...): a rerun with other settings is refused unless
``overwrite`` is set, so that results of two settings are never mixed.

This module imports nothing heavy at import time: worker processes (spawned) import it
first and silence the known warnings before torch and pyannote are loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from pyannote_resnet50.core.atomic import atomic_write
from pyannote_resnet50.core.uri import output_path

if TYPE_CHECKING:  # pragma: no cover
    from pyannote.core import Annotation, Timeline

__all__ = [
    "Job",
    "parse_shard",
    "select_shard",
    "add_batch_arguments",
    "check_batch_arguments",
    "check_output_dir",
    "load_pipeline",
    "check_pipeline_options",
    "check_settings",
    "pipeline_fingerprint",
    "process",
    "run_jobs",
    "score",
    "TqdmHook",
    "plural",
]

SETTINGS = ".run.json"


def plural(count: int, noun: str) -> str:
    """``"1 file"``, ``"2 files"``: `count` and `noun`, plural unless `count` is 1."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def parse_shard(text: str) -> Tuple[int, int]:
    """Parse ``--shard I/N`` (1-based: ``1/4`` ... ``4/4``), an argparse ``type``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not I/N (e.g. 1/4: the first of 4 shards)") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"'{text}': N, the number of shards, must be at least 1 (e.g. 1/4: the "
                                         "first of 4 shards)")
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(
            f"'{text}': I must be between 1 and N (shards are 1-based: 1/{max(count, 1)} ... "
            f"{max(count, 1)}/{max(count, 1)}; with a 0-based array index use $((INDEX + 1))/N)"
        )
    return index, count


def select_shard(items: Sequence, shard: Optional[Tuple[int, int]]) -> list:
    """Items whose 0-based position ``k`` satisfies ``k % N == I - 1`` (all without a shard)."""
    if shard is None:
        return list(items)
    index, count = shard
    return [item for k, item in enumerate(items) if k % count == index - 1]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `apply` and `diarize`: speakers, outputs, parallelism, resumption."""
    parser.add_argument("--num-speakers", type=_positive_int, default=None, help="known number of speakers")
    parser.add_argument("--min-speakers", type=_positive_int, default=None, help="lower bound on the number of speakers")
    parser.add_argument("--max-speakers", type=_positive_int, default=None, help="upper bound on the number of speakers")
    parser.add_argument("--exclusive", action="store_true",
                        help="one speaker at a time (passes exclusive=True to the pipeline; needs a pipeline "
                             "that supports it)")
    parser.add_argument("--plot", action="store_true",
                        help="also write {uri}.png: the speakers' timeline (and the reference's, with the DER "
                             "in the title, when there is one)")
    parser.add_argument("--workers", type=_positive_int, default=1,
                        help="files processed in parallel by this many processes, each loading the pipeline "
                             "once, with max(1, cores // WORKERS) torch threads (default: 1)")
    parser.add_argument("--shard", type=parse_shard, default=None, metavar="I/N",
                        help="process only files number I, I+N, I+2N, ... (1-based: 1/N ... N/N) of the "
                             "sorted list, to split a corpus over independent jobs writing to the same folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="recompute files already done (default: a rerun skips them)")


def check_batch_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse contradictory speaker options (argparse error, exit code 2)."""
    if args.num_speakers is not None and (args.min_speakers or args.max_speakers):
        parser.error("--num-speakers fixes the number of speakers: drop --min-speakers / --max-speakers")
    if args.min_speakers and args.max_speakers and args.min_speakers > args.max_speakers:
        parser.error(f"--min-speakers {args.min_speakers} is above --max-speakers {args.max_speakers}")


def check_output_dir(path: Union[str, Path], option: str = "--output-dir") -> None:
    """Refuse an output folder that exists as something else than a folder (or lies under a file)

    Raises
    ------
    ValueError
        Naming `path`, the file in the way and `option`.
    """
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "is" if folder == path else f"lies under '{folder}', which is"
            raise ValueError(f"{option} '{path}' {where} a file, not a folder: choose a folder (it is "
                             "created if needed), or move the file away.")


def load_pipeline(name: str):
    """Pipeline from a config.yaml path, or "default" (the shipped one), or "oracle".

    Every config, ours or stock, is loaded by
    :func:`pyannote_resnet50.core.pipeline.from_pretrained`: local files only, allow-listed
    classes, checkpoints read by the safe loader.

    Parameters
    ----------
    name : str
        "default" (:data:`pyannote_resnet50.DEFAULT_PIPELINE`), "oracle" (oracle
        segmentation: an upper bound, needs the reference), or the path of a
        pyannote.audio pipeline config.yaml (never downloaded).

    Raises
    ------
    FileNotFoundError
        When the config, or a file it names, does not exist.
    ValueError
        When the config or what it names is refused, or cannot be loaded.
    """
    from pyannote_resnet50 import DEFAULT_PIPELINE
    from pyannote_resnet50.core.pipeline import from_pretrained
    from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization
    from pyannote_resnet50.pipelines.utils import is_url

    if name == "default":
        return from_pretrained(DEFAULT_PIPELINE)
    if name == ORACLE:
        pipeline = SpeakerDiarization(segmentation=ORACLE)
        return pipeline.instantiate(pipeline.default_parameters())
    if not Path(name).is_file() and not is_url(name):  # a URL is refused by from_pretrained
        raise FileNotFoundError(f"pipeline config '{name}' does not exist: give 'default' or the path of a "
                                "config.yaml (e.g. written by `pyannote-resnet50 optimize`); pipelines are "
                                "never downloaded.")
    try:
        return from_pretrained(name)
    except (FileNotFoundError, ValueError):  # refusals: they name the config and the entry
        raise
    except Exception as error:
        raise ValueError(f"cannot load pipeline config '{name}' ({type(error).__name__}: {error}): give 'default' "
                         "or a pyannote.audio pipeline config.yaml, e.g. written by `pyannote-resnet50 optimize`, "
                         "whose checkpoints exist.") from None


def check_pipeline_options(pipeline, options: Dict[str, Any]) -> None:
    """Raise ValueError when `pipeline` cannot take the call-time `options` (e.g. exclusive)."""
    import inspect

    accepted = inspect.signature(pipeline.apply).parameters
    unknown = [name for name in options if name not in accepted]
    if unknown:
        raise ValueError(f"{type(pipeline).__name__}.apply() takes no {', '.join(unknown)} argument: "
                         f"drop --{unknown[0].replace('_', '-')} or use a pipeline that supports it.")


def pipeline_fingerprint(name: str) -> str:
    """SHA-256 of a pipeline's config.yaml and of the local files its ``pipeline.params`` name."""
    import yaml

    from pyannote_resnet50 import DEFAULT_PIPELINE

    if name == "oracle":
        return "oracle"
    config = Path(DEFAULT_PIPELINE if name == "default" else name).resolve()
    digest = hashlib.sha256(config.read_bytes())
    params = (yaml.safe_load(config.read_text()) or {}).get("pipeline", {}).get("params", {}) or {}
    for key in sorted(params):
        value = params[key]
        if isinstance(value, str) and (config.parent / value).is_file():
            digest.update((config.parent / value).read_bytes())
    return digest.hexdigest()


def check_settings(output_dir: Path, settings: Dict[str, Any], overwrite: bool = False) -> None:
    """Record `settings` in ``output_dir/.run.json``; refuse to mix results of other settings.

    Raises
    ------
    ValueError
        When the folder holds results of other settings and `overwrite` is False.
    """
    path = Path(output_dir) / SETTINGS
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as read back
    previous = json.loads(path.read_text()) if path.is_file() else None
    if previous == settings:
        return
    if previous is not None and not overwrite and any(Path(output_dir).glob("*.rttm")):
        changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
        details = ", ".join(f"{k}: {previous.get(k)} -> {settings.get(k)}" for k in changed)
        raise ValueError(f"{output_dir} holds results of other settings ({details}): add --overwrite to "
                         "recompute every file, or choose another output folder.")
    with atomic_write(path) as file:
        json.dump(settings, file, indent=2, sort_keys=True)


@dataclass
class Job:
    """One file to diarize.

    Attributes
    ----------
    uri : str
        Output names: ``{uri}.rttm`` and ``{uri}.png``.
    source : str
        What messages call the file (its path, or protocol and uri).
    file : dict
        pyannote ``AudioFile`` mapping given to the pipeline (``uri``, ``audio``, ...).
    options : dict
        Call-time keyword arguments of the pipeline (``num_speakers``, ``exclusive``, ...).
    reference : Annotation, optional
        Reference diarization (plot and DER).
    uem : Timeline, optional
        Evaluated region (default: the whole file).
    hint : str
        Appended to the error message when the file fails.
    """

    uri: str
    source: str
    file: Dict[str, Any]
    options: Dict[str, Any] = field(default_factory=dict)
    reference: Optional["Annotation"] = None
    uem: Optional["Timeline"] = None
    hint: str = ""


class TqdmHook:
    """pyannote pipeline hook: a transient progress bar per step of one file.

    Shows the steps that report progress (segmentation windows, embedding blocks) under
    the files' bar; disabled when stderr is not a terminal.
    """

    def __init__(self, desc: str = ""):
        self.desc, self.step, self.bar = desc, None, None

    def __call__(self, step_name, step_artifact, file=None, total=None, completed=None):
        if total is None:
            return
        from tqdm.auto import tqdm

        if step_name != self.step:
            self.close()
            self.step = step_name
            self.bar = tqdm(total=total, desc=f"{self.desc} {step_name}".strip(), leave=False, position=1,
                            disable=None, unit="step")
        self.bar.total, self.bar.n = total, completed
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.step = self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


def _uem(job: Job) -> "Timeline":
    from pyannote.core import Segment, Timeline

    from pyannote_resnet50.core.io import get_duration

    return job.uem if job.uem else Timeline([Segment(0.0, get_duration(job.file["audio"]))], uri=job.uri)


def _load_rttm(path: Path, uri: str) -> "Annotation":
    from pyannote.core import Annotation
    from pyannote.database.util import load_rttm

    return load_rttm(path).get(uri, Annotation(uri=uri)) if path.stat().st_size else Annotation(uri=uri)


def process(job: Job, pipeline, output_dir: Path, plot: bool = False, overwrite: bool = False,
            hook=None) -> None:
    """Diarize `job` into ``output_dir/{uri}.rttm`` (unless done) and plot it into ``{uri}.png``.

    A file in which the pipeline finds no speech gets an empty RTTM, and a note saying so.
    """
    rttm = output_path(output_dir, job.uri, ".rttm")
    if rttm.exists() and not overwrite:
        diarization = _load_rttm(rttm, job.uri)
    else:
        diarization = pipeline(dict(job.file), hook=hook, **job.options)
        with atomic_write(rttm) as file:
            diarization.write_rttm(file)
        if not diarization:
            from tqdm.auto import tqdm

            tqdm.write(f"{job.source}: no speech found ({rttm} is empty)", file=sys.stderr)
    if plot:
        from pyannote_resnet50.core.plot import plot_diarization

        plot_diarization(diarization, output_path(output_dir, job.uri, ".png"), reference=job.reference,
                         uem=_uem(job))


_PIPELINE = None  # the pipeline of this (worker) process


def _init_worker(pipeline_name: str, device: str, threads: int) -> None:
    from pyannote_resnet50.cli import filter_known_warnings

    filter_known_warnings()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(threads)
    global _PIPELINE
    _PIPELINE = load_pipeline(pipeline_name).to(torch.device(device))


def _work(job: Job, output_dir: Path, plot: bool, overwrite: bool, hook=None) -> Optional[str]:
    """:func:`process` with the process's pipeline; the error message, or None on success."""
    try:
        process(job, _PIPELINE, output_dir, plot=plot, overwrite=overwrite, hook=hook)
    except Exception as error:  # reported by the caller, the run goes on
        return f"{type(error).__name__}: {error}{job.hint}"
    return None


def run_jobs(
    jobs: Sequence[Job],
    output_dir: Union[str, Path],
    pipeline,
    pipeline_name: str,
    device: str = "cpu",
    plot: bool = False,
    workers: int = 1,
    threads: Optional[int] = None,
    overwrite: bool = False,
    desc: str = "diarization",
    failed: Sequence[Tuple[Job, str]] = (),
) -> List[Tuple[Job, str]]:
    """Diarize `jobs` into `output_dir`, skipping finished ones, reporting failures.

    Parameters
    ----------
    jobs : sequence of Job
    output_dir : str or Path
    pipeline : pyannote.audio Pipeline
        Used in this process when `workers` is 1.
    pipeline_name : str
        What :func:`load_pipeline` loads in each worker process when `workers` > 1.
    device : str, optional
        Torch device of the workers' pipelines.
    plot : bool, optional
        Also write ``{uri}.png`` (from the existing RTTM when only the PNG is missing).
    workers : int, optional
        Number of worker processes (spawned; each loads the pipeline once).
    threads : int, optional
        Torch threads per worker (default: max(1, cores // workers)).
    overwrite : bool, optional
        Recompute files whose RTTM exists.
    desc : str, optional
        Label of the progress bar.
    failed : sequence of (Job, str), optional
        Jobs that failed before running (e.g. audio not found), reported with the others.

    Returns
    -------
    failures : list of (Job, str)
        Failed jobs and their error messages (also printed as they happen).
    """
    from tqdm.auto import tqdm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    def diarized(job: Job) -> bool:
        return not overwrite and output_path(output_dir, job.uri, ".rttm").exists()

    def plotted(job: Job) -> bool:
        """Its PNG exists and, when the job has a reference, was drawn with it (and its UEM)"""
        from pyannote_resnet50.core.plot import plot_is_current

        uem = None if job.reference is None else _uem(job)
        return plot_is_current(output_path(output_dir, job.uri, ".png"), reference=job.reference, uem=uem)

    todo = [job for job in jobs if not (diarized(job) and (not plot or plotted(job)))]
    redraw = {job.uri for job in todo if diarized(job)}
    if len(todo) < len(jobs):
        print(f"skipping {len(jobs) - len(todo)} of {plural(len(jobs), 'file')} already done in {output_dir} "
              "(--overwrite to recompute them)", file=sys.stderr)
    if redraw:
        print(f"drawing the plots of {plural(len(redraw), 'file')} already diarized in {output_dir} (their PNG is "
              "missing, or was drawn without this reference)", file=sys.stderr)
    failures: List[Tuple[Job, str]] = []

    def report(job: Job, error: Optional[str]) -> None:
        if error is not None:
            failures.append((job, error))
            tqdm.write(f"FAILED {job.source}: {error}", file=sys.stderr)

    for job, error in failed:
        report(job, error)
    bar = tqdm(total=len(todo), desc=desc, unit="file")
    workers = max(1, min(workers, len(todo)))
    try:
        if workers == 1:
            global _PIPELINE
            _PIPELINE = pipeline
            for job in todo:
                with TqdmHook(job.uri) as hook:
                    report(job, _work(job, output_dir, plot, overwrite, hook=hook))
                bar.update()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            threads = threads or max(1, cores // workers)
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_init_worker, initargs=(pipeline_name, device, threads)) as pool:
                futures = {pool.submit(_work, job, output_dir, plot, overwrite): job for job in todo}
                try:
                    for future in as_completed(futures):
                        try:
                            error = future.result()
                        except Exception as crash:  # BrokenProcessPool: a worker was killed (out of memory?)
                            error = f"worker process died ({type(crash).__name__}: {crash}){futures[future].hint}"
                        report(futures[future], error)
                        bar.update()
                except KeyboardInterrupt:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: the finished files are in {output_dir}; rerun the same command to resume",
              file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        bar.close()
    failed_uris = {job.uri for job, _ in failures}
    drawn = len(redraw - failed_uris)
    ok = len(todo) + len(failed) - len(failures) - drawn
    print(f"{plural(ok, 'file')} diarized, {len(jobs) - len(todo)} already done, "
          + (f"{plural(drawn, 'plot')} redrawn, " if redraw else "")
          + f"{len(failures)} failed -> {output_dir}", file=sys.stderr)
    if failures:
        print(f"{plural(len(failures), 'file')} failed (fix them and rerun the same command: finished files are "
              "skipped):", file=sys.stderr)
        for job, error in failures:
            print(f"  {job.source}: {error}", file=sys.stderr)
    return failures


def score(jobs: Sequence[Job], output_dir: Union[str, Path]) -> Optional[Tuple[float, int]]:
    """DER (pyannote.metrics, no collar, overlap scored) of the finished jobs with a reference.

    Returns
    -------
    der, num_files : (float, int) or None
        None when no finished job has a reference.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric, count = DiarizationErrorRate(), 0
    for job in jobs:
        rttm = output_path(output_dir, job.uri, ".rttm")
        if job.reference is None or not rttm.exists():
            continue
        metric(job.reference, _load_rttm(rttm, job.uri), uem=_uem(job))
        count += 1
    return (abs(metric), count) if count else None

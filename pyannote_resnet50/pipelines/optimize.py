"""Hyper-parameter optimisation of :class:`~pyannote_resnet50.pipelines.SpeakerDiarization`.

Tunes the pipeline on a protocol subset with :class:`pyannote.pipeline.Optimizer`
(diarization error rate through pyannote.metrics), in an output directory that
holds everything needed to resume and to use the result::

    output_dir/
        segmentation.ckpt   # copies of the models, referenced by relative path
        embedding.ckpt
        trials.sqlite       # optuna study: re-running continues it
        config.yaml         # best pipeline so far, pyannote.audio format
        cache/<fingerprint>/<uri>.npz  # optional on-disk segmentation + embeddings

Segmentation and embeddings do not depend on the clustering hyper-parameters: they
are computed once per file, before the first trial, and kept in memory (and on disk
with `cache=True`) so that a trial only costs clustering and reconstruction. With a
multilabel segmentation model, ``segmentation.threshold`` changes the embeddings; it
is therefore frozen unless ``tune_segmentation_threshold`` is set (embeddings are
then recomputed whenever a trial changes it, as in pyannote.audio).

Interrupted runs: cache files are written atomically (a temporary file renamed), and
an unreadable one is named in a warning and recomputed. Restarting continues the study:
trials a killed run left RUNNING are marked FAIL, and the sampler is seeded with
``seed`` plus the number of trials already in the study, so that it never replays
the suggestions of a previous run (a run from scratch uses ``seed`` itself). One
optimisation process per output directory.
"""

import hashlib
import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text, Union

import numpy as np
import optuna
import torch
import yaml
from optuna.trial import TrialState
from pyannote.audio import __version__ as PYANNOTE_AUDIO_VERSION
from pyannote.core import SlidingWindow, SlidingWindowFeature
from pyannote.pipeline import Optimizer
from tqdm.auto import tqdm

from pyannote_resnet50.core.uri import check_uris, output_path
from pyannote_resnet50.database.registry import protocol_subset
from pyannote_resnet50.models.checkpoint import load_checkpoint, model_class
from pyannote_resnet50.pipelines.local_speakers import CHECK_PARAMETERS, WINDOWED_CHECKS
from pyannote_resnet50.pipelines.speaker_diarization import ORACLE, SpeakerDiarization
from pyannote_resnet50.pipelines.utils import (
    DEFAULT_CONFIG,
    DEFAULT_EMBEDDING,
    DEFAULT_SEGMENTATION,
    PathOrModel,
    load_model,
    resolve_checkpoint,
    save_checkpoint,
)

__all__ = ["optimize", "export_checkpoints", "write_config", "precompute", "shipped_parameters", "check_freeze"]

CONFIG_NAME = "config.yaml"
STUDY_NAME = "SpeakerDiarization"
PIPELINE_NAME = f"{SpeakerDiarization.__module__.rsplit('.', 1)[0]}.{SpeakerDiarization.__name__}"


def _export(model: PathOrModel, default: Path, path: Path) -> Text:
    """Copy (or save) one model next to config.yaml; return its relative path."""
    if isinstance(model, str) and model == ORACLE:
        return ORACLE
    if model is None or isinstance(model, (str, Path)):
        source = resolve_checkpoint(model, default)
        model_class(load_checkpoint(source), source)  # a refused checkpoint is not copied
        if source != path.resolve():
            shutil.copyfile(source, path)
    else:
        save_checkpoint(load_model(model, default), path)
    return path.name


def export_checkpoints(
    output_dir: Union[Text, Path],
    segmentation: PathOrModel = None,
    embedding: PathOrModel = None,
) -> Dict[str, Text]:
    """Copy the models of the pipeline to `output_dir`

    Parameters
    ----------
    output_dir : str or Path
    segmentation, embedding : Model, str, Path or dict, optional
        As in :class:`SpeakerDiarization` (defaults: the shipped pipeline's checkpoints).
        "oracle" segmentation is kept as is.

    Returns
    -------
    paths : dict
        {"segmentation": "segmentation.ckpt", "embedding": "embedding.ckpt"},
        relative to `output_dir`.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    return {
        "segmentation": _export(segmentation, DEFAULT_SEGMENTATION, output_dir / "segmentation.ckpt"),
        "embedding": _export(embedding, DEFAULT_EMBEDDING, output_dir / "embedding.ckpt"),
    }


def write_config(
    output_dir: Union[Text, Path],
    pipeline_params: Dict[str, Any],
    params: Dict[str, Any],
    extra: Optional[Dict[str, Any]] = None,
) -> Path:
    """Write config.yaml in ``pyannote.audio.Pipeline.from_pretrained`` format

    Parameters
    ----------
    output_dir : str or Path
        Directory of config.yaml; checkpoint paths in `pipeline_params` are relative to it.
    pipeline_params : dict
        Constructor arguments of :class:`SpeakerDiarization`.
    params : dict
        Nested hyper-parameters.
    extra : dict, optional
        Additional top-level entries (e.g. optimisation summary).

    Returns
    -------
    config_yml : Path
    """
    config = {
        "version": PYANNOTE_AUDIO_VERSION,
        "pipeline": {"name": PIPELINE_NAME, "params": dict(pipeline_params)},
        "params": _to_builtin(params),
        **(extra or {}),
    }
    config_yml = Path(output_dir) / CONFIG_NAME
    tmp = config_yml.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.replace(config_yml)
    return config_yml


def _to_builtin(value):
    """numpy scalars -> python scalars (for yaml.safe_dump)"""
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fingerprint(output_dir: Path, pipeline_params: Dict[str, Any], threshold) -> str:
    """Identify what the cached segmentation and embeddings depend on."""
    digest = hashlib.sha1()
    for key in ("segmentation", "embedding"):
        value = pipeline_params[key]
        if value == ORACLE:
            digest.update(b"oracle")
        else:
            digest.update((output_dir / value).read_bytes())
    settings = {k: v for k, v in pipeline_params.items() if "batch_size" not in k and k not in ("segmentation", "embedding")}
    digest.update(json.dumps({"settings": settings, "threshold": threshold}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def precompute(
    pipeline: SpeakerDiarization,
    files: Iterable,
    cache_dir: Optional[Path] = None,
    show_progress: bool = True,
) -> None:
    """Compute (or load) segmentation and embeddings of each file, in the file itself

    Fills the ``training_cache/segmentation`` and ``training_cache/embeddings`` keys
    that :class:`SpeakerDiarization` reads while ``pipeline.training`` is True.

    Parameters
    ----------
    pipeline : SpeakerDiarization
        Instantiated pipeline (its current ``segmentation.threshold`` is used).
    files : iterable of ProtocolFile
    cache_dir : Path, optional
        Also save them to (and load them from) ``cache_dir/<uri>.npz``.
    show_progress : bool, optional
    """
    pipeline.training = True
    threshold = None if pipeline.powerset else pipeline.segmentation.threshold
    files = list(files)
    for file in tqdm(files, desc="segmentation + embeddings", disable=not show_progress, unit="file"):
        npz = None if cache_dir is None else output_path(cache_dir, file["uri"], ".npz")
        cached = None if npz is None else _load_cache(npz)
        if cached is not None:
            segmentations, embeddings = cached
        else:
            segmentations = pipeline.get_segmentations(file)
            binarized = pipeline.binarize(segmentations)
            embeddings = pipeline.get_embeddings(file, binarized, exclude_overlap=pipeline.embedding_exclude_overlap)
            if npz is not None:
                _save_cache(npz, segmentations, embeddings)
        file[pipeline.CACHED_SEGMENTATION] = segmentations
        file[pipeline.CACHED_EMBEDDINGS] = {"segmentation.threshold": threshold, "embeddings": embeddings}


def _load_cache(npz: Path) -> Optional[tuple]:
    """(segmentations, embeddings) cached in `npz`; None (and a warning naming it) when unreadable"""
    if not npz.is_file():
        return None
    try:
        with np.load(npz) as cached:
            window = SlidingWindow(*cached["window"])
            return SlidingWindowFeature(cached["segmentation"], window), cached["embeddings"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"cache file {npz} is unreadable ({type(error).__name__}: {error}): recomputing it.")
        return None


def _save_cache(npz: Path, segmentations: SlidingWindowFeature, embeddings: np.ndarray) -> None:
    """Write `npz` atomically: a killed run leaves either no file or a complete one"""
    npz.parent.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(f".{npz.name}.{os.getpid()}.tmp")
    window = segmentations.sliding_window
    try:
        with open(tmp, "wb") as f:
            np.savez(f, segmentation=segmentations.data, embeddings=embeddings,
                     window=np.array([window.duration, window.step, window.start]))
        os.replace(tmp, npz)
    finally:
        tmp.unlink(missing_ok=True)


def optimize(
    protocol,
    output_dir: Union[Text, Path],
    subset: Text = "development",
    segmentation: PathOrModel = None,
    embedding: PathOrModel = None,
    num_trials: int = 50,
    sampler: Text = "TPESampler",
    seed: Optional[int] = 42,
    tune_segmentation_threshold: bool = False,
    cache: bool = False,
    device: Optional[Text] = None,
    show_progress: bool = True,
    freeze: Iterable[Text] = (),
    **pipeline_params,
) -> Dict[str, Any]:
    """Tune the pipeline on `subset` of `protocol` (or of several) and write `output_dir`/config.yaml

    Resumable: the optuna study lives in `output_dir`/trials.sqlite; calling again
    runs trials until the study holds `num_trials` completed ones, with new
    suggestions (see the module docstring). config.yaml is rewritten after every trial.

    Parameters
    ----------
    protocol : pyannote.database Protocol, or list of them
        e.g. ``pyannote_resnet50.database.get_protocol("Mini.SpeakerDiarization.Simulated")``.
        With several, the files of `subset` of each are pooled (the DER of the pool: each
        file weighs its scored duration); their uris must differ.
    output_dir : str or Path
    subset : {"train", "development", "test"}, optional
        Defaults to "development".
    segmentation, embedding : Model, str, Path or dict, optional
        As in :class:`SpeakerDiarization`. Copied to `output_dir`.
    num_trials : int, optional
        Total number of trials of the study. Defaults to 50.
    sampler : str, optional
        optuna sampler ("TPESampler" or "RandomSampler"). Defaults to "TPESampler".
    seed : int, optional
        Sampler seed of a new study; a resumed study holding N trials is continued with
        seed + N. Defaults to 42.
    tune_segmentation_threshold : bool, optional
        Also tune ``segmentation.threshold`` of a multilabel segmentation model
        (costs the embeddings of every file whenever it changes). Defaults to False
        (frozen to its default value).
    cache : bool, optional
        Also cache segmentation and embeddings on disk, in `output_dir`/cache.
    device : str, optional
        torch device the models run on (not saved in config.yaml). Defaults to CPU.
    show_progress : bool, optional
    freeze : iterable of str, optional
        Hyper-parameters kept at the shipped pipeline's values (``DEFAULT_CONFIG``) instead
        of being tuned: a group ("clustering", "segmentation") or one of its parameters
        ("clustering.threshold"), e.g. to tune a local-speaker check alone on top of the
        shipped clustering. The pipeline must have the shipped one's hyper-parameters.
    **pipeline_params
        Other :class:`SpeakerDiarization` arguments (segmentation_step,
        embedding_exclude_overlap, embedding_block_duration, ...), saved in config.yaml.

    Returns
    -------
    result : dict
        "loss" (best diarization error rate), "params" (best hyper-parameters),
        "config" (path to config.yaml), "num_trials" (completed trials).
    """
    if sampler not in ("TPESampler", "RandomSampler"):
        raise ValueError(f"sampler must be 'TPESampler' or 'RandomSampler', not '{sampler}'.")
    check_freeze(freeze)  # before anything is written
    output_dir = Path(output_dir)
    files = pooled_files(protocol, subset)
    if cache:  # uris name the cache files: none may lead out of the cache folder
        check_uris(file["uri"] for file in files)
    pipeline_params = {**export_checkpoints(output_dir, segmentation, embedding), **pipeline_params}
    pipeline = SpeakerDiarization(
        **{k: (v if v == ORACLE or k not in ("segmentation", "embedding") else output_dir / v) for k, v in pipeline_params.items()}
    )
    pipeline_params = _constructor_params(pipeline, pipeline_params)
    if device is not None:
        pipeline.to(torch.device(device))

    default_parameters = pipeline.default_parameters()
    frozen: Dict[str, Any] = {}
    if not pipeline.powerset and not tune_segmentation_threshold:
        frozen = {"segmentation": {"threshold": default_parameters["segmentation"]["threshold"]}}
    frozen = _merge(frozen, _shipped_values(pipeline, freeze))
    if frozen:
        pipeline.freeze(frozen)
    pipeline.instantiate(default_parameters)

    cache_dir = None
    if cache:
        threshold = None if pipeline.powerset else pipeline.segmentation.threshold
        cache_dir = output_dir / "cache" / _fingerprint(output_dir, pipeline_params, threshold)
    precompute(pipeline, files, cache_dir=cache_dir, show_progress=show_progress)

    db = output_dir / "trials.sqlite"
    previous = _resume_study(db)
    sampler = getattr(optuna.samplers, sampler)(seed=None if seed is None else seed + len(previous))
    optimizer = Optimizer(pipeline, db=db, study_name=STUDY_NAME, sampler=sampler)
    completed = _num_completed(optimizer)
    # the first trials (unless already run or queued): the shipped pipeline's hyper-parameters
    # (when this pipeline has the same ones), so that the study never ends worse than them,
    # then the default ones
    if not any(t.state in (TrialState.COMPLETE, TrialState.WAITING) for t in previous):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            for params in filter(None, (shipped_parameters(pipeline), default_parameters)):
                optimizer.study_.enqueue_trial(pipeline._flatten(_drop(params, frozen)))

    progress = tqdm(
        total=num_trials, initial=min(completed, num_trials), desc="trials", unit="trial", disable=not show_progress
    )
    iterations = optimizer.tune_iter(files, show_progress=False)
    result = None
    while completed < num_trials:
        result = next(iterations)
        completed = _num_completed(optimizer)
        progress.update(1)
        progress.set_postfix(best_DER=f"{100 * result['loss']:.2f}%")
        _write_best(output_dir, pipeline_params, optimizer, protocol, subset)
    progress.close()
    pipeline.training = False

    if result is None:  # nothing left to run: report the stored study
        result = {"loss": optimizer.best_loss, "params": optimizer.best_params}
        _write_best(output_dir, pipeline_params, optimizer, protocol, subset)
    return {**result, "config": output_dir / CONFIG_NAME, "num_trials": completed}


def shipped_parameters(pipeline: SpeakerDiarization) -> Optional[Dict[str, Any]]:
    """Hyper-parameters of the shipped pipeline (``DEFAULT_CONFIG``) when `pipeline` has the same ones

    Returns
    -------
    params : dict or None
        The ``params`` of the shipped config.yaml, with the hyper-parameters of
        `pipeline`'s ``local_speaker_check`` (``local_speakers``, ``resegmentation``: the
        shipped ones, or the defaults when the shipped pipeline has another check); None
        when `pipeline` (another clustering method, a multilabel segmentation...) does not
        have exactly those hyper-parameters.
    """
    params = yaml.safe_load(DEFAULT_CONFIG.read_text())["params"]
    defaults = pipeline.default_parameters()
    for group in CHECK_PARAMETERS.values():  # the hyper-parameters of a local-speaker check
        if group in defaults and group not in params:
            params[group] = defaults[group]
        elif group not in defaults:
            params.pop(group, None)
    if set(pipeline._flatten(params)) != set(pipeline._flatten(defaults)):
        return None
    return params


def _shipped_values(pipeline: SpeakerDiarization, names: Iterable[Text]) -> Dict[str, Any]:
    """Nested shipped values of the hyper-parameters (or groups) `names` ("clustering", "clustering.threshold")

    Raises
    ------
    ValueError
        When `pipeline` does not have the shipped pipeline's hyper-parameters.
    """
    names = list(names)  # checked by `check_freeze` when `optimize` starts
    if not names:
        return {}
    shipped = shipped_parameters(pipeline)
    if shipped is None:
        raise ValueError("freeze: this pipeline's hyper-parameters differ from the shipped pipeline's "
                         "(another clustering method, a multilabel segmentation...): nothing to freeze them to.")
    frozen: Dict[str, Any] = {}
    for name in names:
        group, _, parameter = name.partition(".")
        value = {parameter: shipped[group][parameter]} if parameter else dict(shipped[group])
        frozen = _merge(frozen, {group: value})
    return frozen


def check_freeze(names: Iterable[Text]) -> None:
    """Refuse a name of `names` that is not a hyper-parameter (or group) of the shipped pipeline

    Raises
    ------
    ValueError
        Naming it and listing the known ones.
    """
    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text())["params"]
    known = sorted(list(shipped) + [f"{group}.{name}" for group in shipped for name in shipped[group]])
    for name in names:
        if name not in known:
            raise ValueError(f"freeze: unknown hyper-parameter {name!r} (one of {', '.join(known)}).")


def _merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    """Nested dict `a` updated with nested dict `b`"""
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in a.items()}
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _constructor_params(pipeline: SpeakerDiarization, params: Dict[str, Any]) -> Dict[str, Any]:
    """Arguments to write in config.yaml: given ones plus those needed to reproduce."""
    return {
        "segmentation": params["segmentation"],
        "segmentation_step": pipeline.segmentation_step,
        "embedding": params["embedding"],
        "embedding_exclude_overlap": pipeline.embedding_exclude_overlap,
        "embedding_block_duration": pipeline.embedding_block_duration,
        "embedding_min_frames": pipeline.embedding_min_frames,
        "segmentation_batch_size": pipeline.segmentation_batch_size,
        "embedding_batch_size": pipeline.embedding_batch_size,
        "clustering": pipeline.klustering,
        "silence_amplitude": pipeline.silence_amplitude,
        **({"uniform_window": pipeline.uniform_window}
           if pipeline.local_speaker_check in WINDOWED_CHECKS else {}),
        **{k: v for k, v in params.items() if k not in ("segmentation", "embedding")},
    }


def _resume_study(db: Path) -> List:
    """Trials of the study stored in `db` (none for a new study), those a killed run
    left RUNNING marked FAIL (they would otherwise count as running forever)"""
    if not db.is_file():
        return []
    storage = optuna.storages.RDBStorage(f"sqlite:///{db}")
    try:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    except KeyError:
        return []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        warnings.warn(f"trial {trial.number} of {db} was left running by an interrupted run: marked FAIL.")
    return study.get_trials(deepcopy=False)


def _num_completed(optimizer: Optimizer) -> int:
    return len(optimizer.study_.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _drop(params: dict, frozen: dict) -> dict:
    """Nested `params` without the keys of nested `frozen`."""
    kept = {}
    for key, value in params.items():
        if key in frozen and isinstance(value, dict):
            value = _drop(value, frozen[key])
            if value:
                kept[key] = value
        elif key not in frozen:
            kept[key] = value
    return kept


def pooled_files(protocol, subset: Text) -> List:
    """Files of `subset` of `protocol`, or of every protocol of a list (uris must differ across them)

    Raises
    ------
    ValueError
        When a protocol has no such subset, or two pooled files share a uri.
    """
    protocols = list(protocol) if isinstance(protocol, (list, tuple)) else [protocol]
    files: List = [file for p in protocols for file in protocol_subset(p, subset)]
    uris = [file["uri"] for file in files]
    if len(set(uris)) < len(uris):
        clashes = sorted({uri for uri in uris if uris.count(uri) > 1})
        raise ValueError(f"the protocols pooled for tuning share uris ({', '.join(clashes[:5])}): "
                         f"tune on one of them, or rename the files of one.")
    return files


def _write_best(output_dir: Path, pipeline_params: dict, optimizer: Optimizer, protocol, subset: Text) -> Path:
    optimization = {
        "protocol": "+".join(p.name for p in protocol) if isinstance(protocol, (list, tuple)) else protocol.name,
        "subset": subset,
        "metric": "diarization error rate",
        "loss": float(optimizer.best_loss),
        "num_trials": _num_completed(optimizer),
    }
    return write_config(output_dir, pipeline_params, optimizer.best_params, extra={"optimization": optimization})

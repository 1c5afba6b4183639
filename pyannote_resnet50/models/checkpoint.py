"""Checkpoints: the one module that writes and reads them.

Portable checkpoints
--------------------
pyannote.audio 3.4 checkpoints keep pickled ``Specifications``, ``Problem``,
``Resolution`` and ``TorchVersion`` objects under ``checkpoint["pyannote.audio"]``.
torch >= 2.6 loads with ``weights_only=True`` by default and refuses them: in an
interpreter that did not import pyannote_resnet50 (which allow-lists them),
``Model.from_pretrained`` fails on any such checkpoint.

Every checkpoint written here (:func:`save_checkpoint`, :func:`save_slim_checkpoint`,
:func:`convert_checkpoint`) is *portable*: it holds only what torch's default safe
loader accepts (dicts, lists, tuples, str, numbers, booleans, None and tensors).
Specifications are stored as a dict (enums by name) and
``checkpoint["pyannote.audio"]["architecture"]`` names :class:`PortableCheckpoint`,
with the real model class under its "model" key::

    "architecture": {"module": "pyannote_resnet50.models.checkpoint",
                     "class": "PortableCheckpoint",
                     "model": {"module": "pyannote.audio.models.segmentation.PyanNet",
                               "class": "PyanNet"}}

pyannote.audio 3.4's ``Model.from_pretrained(path)`` reads the file (plain data: no
allow-list needed), imports this module by name and calls
``PortableCheckpoint.load_from_checkpoint``, which rebuilds the ``Specifications`` and
hands the checkpoint to the real class's Lightning ``load_from_checkpoint``. So
``Model.from_pretrained("x.ckpt")`` and ``SpeakerDiarization(embedding="x.ckpt")`` of
stock pyannote work in a fresh interpreter, and return a plain ``PyanNet`` or
``ResNet50`` (pyannote_resnet50 must be installed, as for any checkpoint of ours).
Existing checkpoints are rewritten with :func:`convert_checkpoint`
(``python -m pyannote_resnet50.models.checkpoint --convert CKPT...``).

Reading
-------
:func:`load_checkpoint` reads full training checkpoints (Lightning, Hydra, optimizer
states) with ``weights_only=True`` and an allow-list of plain-data types: a crafted
checkpoint whose unpickling would run code is refused with an
:class:`UnsafeCheckpointError` naming the file and what it holds. The model class a
checkpoint names (its "architecture") must be a pyannote.audio ``Model`` of
:data:`MODEL_PACKAGES` (:func:`model_class`): no other module is imported.
"""

import collections
import contextlib
import dataclasses
import io
import os
import pickle
import re
import typing
import zipfile
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Union

import numpy as np
import omegaconf
import torch
from pyannote.audio.core.task import Problem, Resolution, Specifications
from torch.torch_version import TorchVersion

__all__ = [
    "UnsafeCheckpointError",
    "PortableCheckpoint",
    "is_portable",
    "save_checkpoint",
    "save_slim_checkpoint",
    "save_portable",
    "rewrite_checkpoint",
    "LOSS_PREFIX",
    "convert_checkpoint",
    "slim_best_checkpoint",
    "load_checkpoint",
    "model_class",
    "to_portable",
    "from_portable",
    "allow_pyannote_checkpoints",
    "training_checkpoint_globals",
]

#: checkpoint keys `pyannote.audio.core.model.Model.from_pretrained` reads
#: ("pytorch-lightning_version" is checked by Model.on_load_checkpoint)
KEPT_KEYS = ("pyannote.audio", "state_dict", "hyper_parameters", "pytorch-lightning_version")
#: state-dict prefix of a model's trainable loss (pyannote.audio's ``model.loss_func``, e.g. the
#: ArcFace class centres): in training checkpoints only, never used by inference
LOSS_PREFIX = "loss_func."

#: non-tensor types of pyannote.audio checkpoints ("pyannote.audio" metadata)
CHECKPOINT_SAFE_GLOBALS = [TorchVersion, Specifications, Problem, Resolution]

#: plain-data types of full training checkpoints written by `pyannote-audio-train`
#: (Hydra / omegaconf hyper-parameters, optimizer and callback states): data
#: containers whose unpickling runs no code of the file's choosing
TRAINING_CHECKPOINT_SAFE_GLOBALS = [
    omegaconf.DictConfig,
    omegaconf.ListConfig,
    omegaconf.base.ContainerMetadata,
    omegaconf.base.Metadata,
    omegaconf.nodes.AnyNode,
    omegaconf.nodes.StringNode,
    omegaconf.nodes.IntegerNode,
    omegaconf.nodes.FloatNode,
    omegaconf.nodes.BooleanNode,
    typing.Any,
    collections.defaultdict,
    dict,
    list,
    int,
    float,
]

#: "architecture" of portable checkpoints: what `Model.from_pretrained` imports and calls
PORTABLE_ARCHITECTURE = {"module": "pyannote_resnet50.models.checkpoint", "class": "PortableCheckpoint"}

#: packages whose models a checkpoint may name as its architecture (nothing else is imported)
MODEL_PACKAGES = ("pyannote.audio", "pyannote_resnet50")

#: what a refused checkpoint should be instead (the end of every refusal message)
TRUSTED_CHECKPOINTS = (
    "Only checkpoints written by Lightning / pyannote.audio (pyannote-audio-train, pyannote_resnet50) whose "
    "contents are allow-listed (tensors, plain data, pyannote.audio specifications, Hydra / omegaconf "
    "configurations) and whose architecture is a pyannote.audio or pyannote_resnet50 Model are loaded. "
    "If you trust the file, load its model where it was written and save it again with "
    "pyannote_resnet50.models.checkpoint.save_checkpoint(model, path)."
)


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """A checkpoint refused by :func:`load_checkpoint`: loading it could run code

    A ``pickle.UnpicklingError`` (what torch's safe loader raises) and a ``ValueError``
    (a bad input, as command lines report them); its message names the file, what it
    holds that is refused, and :data:`TRUSTED_CHECKPOINTS`.
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        super().__init__(f"checkpoint '{path}' is refused: {reason}; nothing in it was run. {TRUSTED_CHECKPOINTS}")


# ------------------------------------------------------------------ allow-lists


@contextlib.contextmanager
def _safe_globals_exactly(safe_globals: Iterable):
    """Within the block, torch's weights-only loader allows `safe_globals` (and its
    built-in defaults) only; the previous allow-list is restored afterwards.

    (torch's own ``safe_globals`` context manager removes its globals on exit, even
    those that were allow-listed before.)
    """
    before = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(list(safe_globals))
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def allow_pyannote_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read checkpoints written by pyannote.audio itself

    Portable checkpoints need nothing; checkpoints written by Lightning or stock
    pyannote.audio pickle (plain data) objects of :data:`CHECKPOINT_SAFE_GLOBALS`, which
    torch >= 2.6 refuses by default. Importing pyannote_resnet50 calls this.
    """
    torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)


@contextlib.contextmanager
def training_checkpoint_globals():
    """Allow-list the types of full training checkpoints for the duration of the block"""
    current = torch.serialization.get_safe_globals()
    with _safe_globals_exactly(current + CHECKPOINT_SAFE_GLOBALS + TRAINING_CHECKPOINT_SAFE_GLOBALS):
        yield


def load_checkpoint(path: Union[str, Path]) -> dict:
    """Load a (full, slim or portable) checkpoint without unpickling arbitrary objects

    ``torch.load(weights_only=True)`` with an allow-list of plain-data types
    (:data:`CHECKPOINT_SAFE_GLOBALS` and :data:`TRAINING_CHECKPOINT_SAFE_GLOBALS`): a
    crafted checkpoint that would run code when unpickled is refused instead.

    Raises
    ------
    UnsafeCheckpointError
        When the checkpoint holds any other type (a ``pickle.UnpicklingError``), naming
        the file and the refused type.
    ValueError
        When the file is not a torch checkpoint at all.
    """
    with open(path, "rb") as file:
        header = file.read(1)
    if header != pickle.PROTO and not zipfile.is_zipfile(path):  # torch.save writes a zip (a pickle before 1.6)
        raise ValueError(f"'{path}' is not a torch checkpoint: it is neither a zip file nor a pickle.")
    try:
        with training_checkpoint_globals():
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises to allow-list the type, or to load with weights_only=False: keep the cause only
        cause = re.search(r"WeightsUnpickler error: ([^\n]*?)(\. Please use|\n|$)", str(error))
        detail = f" ({cause.group(1).strip()})" if cause else ""
        raise UnsafeCheckpointError(path, f"it holds pickled objects outside the allow-list{detail}") from None
    except Exception as error:  # zip, pickle or storage errors of a file that is no checkpoint
        raise ValueError(f"'{path}' is not a readable torch checkpoint ({type(error).__name__}: {error}).") from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f"'{path}' is not a pyannote.audio checkpoint: it holds a {type(checkpoint).__name__}, "
                         "not a dict.")
    return checkpoint


# ------------------------------------------------------------ portable format


def _plain(value: Any, where: str) -> Any:
    """`value` made of dict / list / tuple / str / numbers / None / tensors only"""
    if value is None or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    for kind in (bool, int, float, str):  # exact types: subclasses (TorchVersion) are pickled by name
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(item, where) for item in value)
    if isinstance(value, (list, omegaconf.ListConfig)):
        return [_plain(item, where) for item in value]
    raise TypeError(
        f"checkpoint entry '{where}' is a {type(value).__name__}, which torch's default safe loader "
        f"refuses: store it as a dict, list, str or number."
    )


def _specifications_to_plain(specifications) -> Union[Dict, list]:
    if isinstance(specifications, (tuple, list)):  # multi-task models
        return [_specifications_to_plain(s) for s in specifications]
    if isinstance(specifications, Mapping):  # already portable
        return dict(specifications)
    plain = {field.name: getattr(specifications, field.name) for field in dataclasses.fields(specifications)}
    plain["problem"], plain["resolution"] = specifications.problem.name, specifications.resolution.name
    return _plain(plain, "specifications")


def _specifications_from_plain(plain) -> Union[Specifications, tuple]:
    if isinstance(plain, Specifications):
        return plain
    if isinstance(plain, (list, tuple)):
        return tuple(_specifications_from_plain(s) for s in plain)
    plain = dict(plain)
    plain["problem"], plain["resolution"] = Problem[plain["problem"]], Resolution[plain["resolution"]]
    if plain.get("warm_up") is not None:
        plain["warm_up"] = tuple(plain["warm_up"])
    return Specifications(**plain)


def is_portable(checkpoint: Mapping) -> bool:
    """Whether `checkpoint` is in the portable format of this module"""
    architecture = (checkpoint.get("pyannote.audio") or {}).get("architecture") or {}
    return {key: architecture.get(key) for key in PORTABLE_ARCHITECTURE} == PORTABLE_ARCHITECTURE


def to_portable(checkpoint: Mapping) -> dict:
    """Portable copy of a pyannote.audio checkpoint (see the module docstring)

    Keeps the keys `Model.from_pretrained` reads (:data:`KEPT_KEYS`) that `checkpoint`
    has; tensors are shared, not copied. Idempotent.

    Raises
    ------
    TypeError
        When a hyper-parameter is not plain data.
    """
    portable = {key: checkpoint[key] for key in KEPT_KEYS if key in checkpoint}
    portable["state_dict"] = dict(portable.get("state_dict", {}))
    portable["hyper_parameters"] = _plain(dict(portable.get("hyper_parameters", {})), "hyper_parameters")
    if "pytorch-lightning_version" in portable:
        portable["pytorch-lightning_version"] = str(portable["pytorch-lightning_version"])
    metadata = dict(portable.get("pyannote.audio") or {})
    if "versions" in metadata:
        metadata["versions"] = {name: str(version) for name, version in metadata["versions"].items()}
    if "architecture" in metadata and not is_portable(portable):
        model = {key: str(metadata["architecture"][key]) for key in ("module", "class")}
        metadata["architecture"] = {**PORTABLE_ARCHITECTURE, "model": model}
    if "specifications" in metadata:
        metadata["specifications"] = _specifications_to_plain(metadata["specifications"])
    portable["pyannote.audio"] = metadata
    return portable


def from_portable(checkpoint: Mapping) -> dict:
    """pyannote.audio's own checkpoint format (Specifications objects, real architecture)

    Inverse of :func:`to_portable`; a checkpoint not in the portable format is returned
    as is (shallow copy).
    """
    checkpoint = dict(checkpoint)
    if not is_portable(checkpoint):
        return checkpoint
    metadata = dict(checkpoint["pyannote.audio"])
    metadata["architecture"] = dict(metadata["architecture"]["model"])
    if "specifications" in metadata:
        metadata["specifications"] = _specifications_from_plain(metadata["specifications"])
    checkpoint["pyannote.audio"] = metadata
    return checkpoint


def model_class(checkpoint: Mapping, path: Union[str, Path, None] = None) -> type:
    """Model class named by a (portable or pyannote.audio) checkpoint, if allow-listed

    Only modules of :data:`MODEL_PACKAGES` are imported, and the class must be a
    pyannote.audio ``Model``: what ``Model.from_pretrained`` would import and call.

    Parameters
    ----------
    checkpoint : dict
        Loaded checkpoint (e.g. by :func:`load_checkpoint`).
    path : str or Path, optional
        Its file, named in errors.

    Raises
    ------
    UnsafeCheckpointError
        When the checkpoint names no model, or a class outside the allow-list.
    """
    from pyannote.audio import Model

    metadata = checkpoint.get("pyannote.audio") or {}
    architecture = metadata.get("architecture") or {}
    if is_portable(checkpoint):
        architecture = architecture.get("model") or {}
    module, name = str(architecture.get("module", "")), str(architecture.get("class", ""))
    Klass = None
    if any(module == package or module.startswith(f"{package}.") for package in MODEL_PACKAGES):
        try:
            Klass = getattr(import_module(module), name, None)
        except ImportError:
            Klass = None
    if not (isinstance(Klass, type) and issubclass(Klass, Model)):
        raise UnsafeCheckpointError(
            path or "<checkpoint>",
            f"its architecture {module}.{name} is not a pyannote.audio Model of {' or '.join(MODEL_PACKAGES)}",
        )
    return Klass




def _save(checkpoint: Mapping, path: Union[str, Path]) -> Path:
    """Write a portable checkpoint atomically, after checking that torch's default
    safe loader (no allow-list) reads it back"""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    with _safe_globals_exactly([]):
        torch.load(io.BytesIO(buffer.getbuffer()), map_location="cpu", weights_only=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(buffer.getbuffer())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class PortableCheckpoint:
    """What the "architecture" of portable checkpoints names

    pyannote.audio's ``Model.from_pretrained`` calls
    ``PortableCheckpoint.load_from_checkpoint(path, ...)`` as it would the model class's.
    """

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, **kwargs):
        """Load the model of a portable checkpoint

        Parameters
        ----------
        checkpoint_path : str, Path or file-like
        map_location : optional
            As in ``torch.load``.
        **kwargs
            ``hparams_file``, ``strict`` and model arguments, passed on to the model
            class's (Lightning) ``load_from_checkpoint``.

        Returns
        -------
        model : pyannote.audio Model
            Instance of the class named under "architecture" / "model".
        """
        checkpoint = from_portable(torch.load(checkpoint_path, map_location=map_location, weights_only=True))
        Klass = model_class(checkpoint, checkpoint_path if isinstance(checkpoint_path, (str, Path)) else None)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        # the checkpoint now holds Specifications: read back what we just wrote
        with _safe_globals_exactly(torch.serialization.get_safe_globals() + CHECKPOINT_SAFE_GLOBALS):
            return Klass.load_from_checkpoint(buffer, map_location=map_location, weights_only=True, **kwargs)


# -------------------------------------------------------------------- writing


def save_checkpoint(model, path: Union[str, Path]) -> Path:
    """Save `model` as a portable checkpoint that ``Model.from_pretrained`` loads, without a Trainer

    Writes what Lightning's ``Trainer.save_checkpoint`` plus pyannote.audio's
    ``Model.on_save_checkpoint`` would (weights, constructor hyper-parameters,
    versions, architecture, task specifications), in the portable format. Useful for
    randomly initialised models (tests, speed benchmarks) and for copies of loaded ones.

    Parameters
    ----------
    model : pyannote.audio Model
        Model whose ``specifications`` are set (through a task or directly).
    path : str or Path
        Output checkpoint path (written atomically).

    Returns
    -------
    path : Path
    """
    import pytorch_lightning as pl

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": pl.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    return save_portable(checkpoint, path)


def save_portable(checkpoint: Mapping, path: Union[str, Path]) -> Path:
    """Write a loaded (or built) checkpoint in the portable format

    Parameters
    ----------
    checkpoint : dict
        pyannote.audio checkpoint, e.g. from :func:`load_checkpoint` with its weights
        changed: only the keys `Model.from_pretrained` reads are kept (:data:`KEPT_KEYS`).
    path : str or Path
        Output checkpoint path (written atomically, after checking that torch's
        default safe loader reads it back).

    Returns
    -------
    path : Path
    """
    return _save(to_portable(checkpoint), path)


def rewrite_checkpoint(
    checkpoint: Union[str, Path], output: Union[str, Path], expected: type, action: str, transform: Callable
) -> Path:
    """Write a portable copy of a checkpoint whose weights and hyper-parameters `transform` changed

    Parameters
    ----------
    checkpoint : str or Path
        Slim or full (training) checkpoint. Optimizer and trainer states are dropped.
    output : str or Path
        The checkpoint written.
    expected : type
        Model class the checkpoint must hold (a subclass is accepted).
    action : str
        What `transform` does, for the error message (e.g. "widened").
    transform : callable
        ``(state_dict, hyper_parameters) -> (state_dict, hyper_parameters)``.

    Raises
    ------
    ValueError
        When the checkpoint holds another model class.
    """
    loaded = load_checkpoint(checkpoint)
    Klass = model_class(loaded, checkpoint)
    if not issubclass(Klass, expected):
        name = expected.__name__
        raise ValueError(f"'{checkpoint}' holds a {Klass.__name__}, not a {name}: only {name} can be {action}.")
    state_dict, hparams = transform(loaded["state_dict"], loaded["hyper_parameters"])
    return save_portable({**loaded, "state_dict": state_dict, "hyper_parameters": hparams}, output)


def save_slim_checkpoint(
    checkpoint: Union[str, Path], output: Union[str, Path], drop_loss: bool = True
) -> Path:
    """Save a training checkpoint as a portable one, without optimizer, scheduler nor callback states

    Parameters
    ----------
    checkpoint : str or Path
        Lightning checkpoint written by `pyannote-audio-train` (or Trainer).
    output : str or Path
        Where to write the slim checkpoint.
    drop_loss : bool, optional
        Drop the weights of a trainable loss (e.g. ArcFace class centers under
        "loss_func."), which inference never uses. Defaults to True.

    Returns
    -------
    output : Path
        Loadable with `pyannote.audio.Model.from_pretrained(output)`, in any interpreter.
    """
    slim = to_portable(load_checkpoint(checkpoint))
    if drop_loss:
        slim["state_dict"] = {
            name: tensor for name, tensor in slim["state_dict"].items() if not name.startswith(LOSS_PREFIX)
        }
    return _save(slim, output)


def convert_checkpoint(path: Union[str, Path], output: Union[str, Path, None] = None) -> Path:
    """Rewrite a pyannote.audio checkpoint in the portable format, weights unchanged

    Parameters
    ----------
    path : str or Path
        Slim or full checkpoint (read with :func:`load_checkpoint`'s allow-list).
    output : str or Path, optional
        Defaults to `path` (rewritten in place, atomically).

    Returns
    -------
    output : Path

    Raises
    ------
    RuntimeError
        When the written state dict or hyper-parameters differ from the original ones
        (the original file is then left untouched when converting in place).
    """
    original = load_checkpoint(path)
    portable = to_portable(original)
    buffer = io.BytesIO()
    torch.save(portable, buffer)
    buffer.seek(0)
    with _safe_globals_exactly([]):
        written = torch.load(buffer, map_location="cpu", weights_only=True)
    before, after = original.get("state_dict", {}), written["state_dict"]
    same = list(before) == list(after) and all(
        before[name].dtype == after[name].dtype and torch.equal(before[name], after[name]) for name in before
    )
    if not same or written["hyper_parameters"] != dict(original.get("hyper_parameters", {})):
        raise RuntimeError(f"converting '{path}' changed its weights or hyper-parameters: nothing written.")
    return _save(portable, path if output is None else output)


def slim_best_checkpoint(run_dir: Union[str, Path], name: str = "embedding.ckpt") -> Path:
    """Slim the best checkpoint of a `pyannote-audio-train` run

    Parameters
    ----------
    run_dir : str or Path
        Hydra run directory, holding checkpoints named "epoch=E-{metric}={score}.ckpt"
        (monitored metric minimised, e.g. EqualErrorRate) and, when a run finished,
        "best_k_models.yaml" (the same scores at full precision; entries naming deleted
        checkpoints are ignored).
    name : str, optional
        Name of the slim checkpoint written in `run_dir`. Defaults to "embedding.ckpt".

    Returns
    -------
    output : Path
    """
    import yaml

    run_dir = Path(run_dir)
    # the scores are in the checkpoint names ("epoch=3-EqualErrorRate=0.123456.ckpt"); an
    # interrupted run never wrote best_k_models.yaml, and a resumed run interrupted again left
    # the previous part's one (naming checkpoints since deleted, missing the new ones): its
    # full-precision scores are used for the checkpoints that still exist
    best = {str(path.resolve()): float(path.stem.rsplit("=", 1)[1]) for path in run_dir.glob("epoch=*-*=*.ckpt")}
    if (run_dir / "best_k_models.yaml").is_file():
        listed = yaml.safe_load((run_dir / "best_k_models.yaml").read_text()) or {}
        best.update({str(Path(path).resolve()): float(score) for path, score in listed.items()
                     if Path(path).is_file()})
    if not best:
        raise FileNotFoundError(
            f"no checkpoint with a development score in '{run_dir}' (neither best_k_models.yaml nor "
            f"epoch=*-<metric>=*.ckpt): is it a pyannote-audio-train run directory that finished an epoch?"
        )
    path, score = min(best.items(), key=lambda item: float(item[1]))
    slim = save_slim_checkpoint(path, run_dir / name)
    print(f"best checkpoint: {path} (monitored metric = {float(score):.4f})")
    print(f"slim checkpoint: {slim} ({slim.stat().st_size / 1e6:.1f} MB)")
    return slim


def main(argv: Optional[list] = None) -> None:
    """``python -m pyannote_resnet50.models.checkpoint RUN_DIR [NAME]``: slim the best checkpoint
    of a run; ``--checkpoint CKPT`` slims that checkpoint instead of the best; ``--convert CKPT...``:
    rewrite checkpoints in the portable format (in place, weights unchanged)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.models.checkpoint",
        description="Slim the best checkpoint of a pyannote-audio-train run (weights and hyper-parameters "
        "only, loadable with weights_only=True), or rewrite checkpoints in the portable format.",
    )
    parser.add_argument("run_dir", nargs="?", type=Path, help="pyannote-audio-train run directory")
    parser.add_argument("name", nargs="?", default="embedding.ckpt",
                        help="name of the slim checkpoint written in RUN_DIR (default: embedding.ckpt)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="slim this checkpoint of RUN_DIR (e.g. 'epoch=5-DiarizationErrorRate=0.2189.ckpt') "
                        "instead of the best one")
    parser.add_argument("--convert", nargs="+", type=Path, metavar="CKPT",
                        help="rewrite these checkpoints in the portable format, in place")
    args = parser.parse_args(argv)

    def refuse(error: Exception) -> None:
        parser.exit(2, f"{parser.prog}: error: {error}\n")

    if args.convert:
        try:  # every checkpoint is checked before any is rewritten
            for path in args.convert:
                load_checkpoint(path)
        except (FileNotFoundError, IsADirectoryError, ValueError) as error:
            refuse(error)
        for path in args.convert:
            print(f"portable checkpoint: {convert_checkpoint(path)}")
        return
    if args.run_dir is None:
        parser.error("give a run directory (or --convert CKPT...).")
    try:
        if args.checkpoint is not None:
            source = args.checkpoint if args.checkpoint.is_file() else args.run_dir / args.checkpoint
            if not source.is_file():
                parser.error(f"checkpoint '{args.checkpoint}' not found (neither as a path nor in '{args.run_dir}').")
            slim = save_slim_checkpoint(source, args.run_dir / args.name)
            print(f"slim checkpoint: {slim} ({slim.stat().st_size / 1e6:.1f} MB) from {source}")
            return
        slim_best_checkpoint(args.run_dir, args.name)
    except (FileNotFoundError, ValueError) as error:  # refused or unreadable checkpoints, no run directory
        refuse(error)


if __name__ == "__main__":
    main()

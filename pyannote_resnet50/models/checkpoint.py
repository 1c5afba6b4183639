"""Slim checkpoints: what `Model.from_pretrained` needs, nothing more."""

import collections
import contextlib
import typing
from pathlib import Path
from typing import Union

import omegaconf
import torch
from pyannote.audio.core.task import Problem, Resolution, Specifications
from torch.torch_version import TorchVersion

#: checkpoint keys `pyannote.audio.core.model.Model.from_pretrained` reads
#: ("pytorch-lightning_version" is checked by Model.on_load_checkpoint)
KEPT_KEYS = ("pyannote.audio", "state_dict", "hyper_parameters", "pytorch-lightning_version")

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


def load_checkpoint(path: Union[str, Path]) -> dict:
    """Load a (full or slim) pyannote.audio checkpoint without unpickling arbitrary objects

    ``torch.load(weights_only=True)`` with an allow-list of plain-data types
    (:data:`CHECKPOINT_SAFE_GLOBALS` and :data:`TRAINING_CHECKPOINT_SAFE_GLOBALS`): a
    crafted checkpoint that would run code when unpickled is refused instead.

    Raises
    ------
    pickle.UnpicklingError
        When the checkpoint holds any other type.
    """
    with training_checkpoint_globals():
        return torch.load(path, map_location="cpu", weights_only=True)


@contextlib.contextmanager
def training_checkpoint_globals():
    """Allow-list the types of full training checkpoints for the duration of the block

    torch's ``safe_globals`` context manager drops the globals it was given on exit,
    including the package-wide ones of :func:`allow_pyannote_checkpoints`: they are
    allow-listed again afterwards.
    """
    try:
        with torch.serialization.safe_globals(CHECKPOINT_SAFE_GLOBALS + TRAINING_CHECKPOINT_SAFE_GLOBALS):
            yield
    finally:
        allow_pyannote_checkpoints()


def allow_pyannote_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read pyannote.audio checkpoints

    torch >= 2.6 loads with ``weights_only=True`` by default and refuses the
    (plain data) types of pyannote.audio's checkpoint metadata, which makes
    ``Model.from_pretrained`` fail on any checkpoint. This allow-lists them.
    """
    torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)


def save_slim_checkpoint(
    checkpoint: Union[str, Path], output: Union[str, Path], drop_loss: bool = True
) -> Path:
    """Save a training checkpoint without optimizer, scheduler nor callback states

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
        Loadable with `pyannote.audio.Model.from_pretrained(output)`.
    """
    loaded = load_checkpoint(checkpoint)
    slim = {key: loaded[key] for key in KEPT_KEYS}
    if drop_loss:
        slim["state_dict"] = {
            name: tensor
            for name, tensor in slim["state_dict"].items()
            if not name.startswith("loss_func.")
        }
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(slim, output)
    return output


def slim_best_checkpoint(run_dir: Union[str, Path], name: str = "embedding.ckpt") -> Path:
    """Slim the best checkpoint of a `pyannote-audio-train` run

    Parameters
    ----------
    run_dir : str or Path
        Hydra run directory, holding "best_k_models.yaml" (monitored metric is
        minimised, e.g. EqualErrorRate) or, for an interrupted run, checkpoints named
        "epoch=E-{metric}={score}.ckpt".
    name : str, optional
        Name of the slim checkpoint written in `run_dir`. Defaults to "embedding.ckpt".

    Returns
    -------
    output : Path
    """
    import yaml

    run_dir = Path(run_dir)
    if (run_dir / "best_k_models.yaml").is_file():
        best = yaml.safe_load((run_dir / "best_k_models.yaml").read_text())
    else:
        # an interrupted run never wrote best_k_models.yaml: the scores are in the
        # checkpoint names ("epoch=3-EqualErrorRate=0.123456.ckpt")
        best = {str(path): float(path.stem.rsplit("=", 1)[1]) for path in run_dir.glob("epoch=*-*=*.ckpt")}
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


if __name__ == "__main__":
    import sys

    slim_best_checkpoint(*sys.argv[1:])

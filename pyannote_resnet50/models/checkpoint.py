"""Slim checkpoints: what `Model.from_pretrained` needs, nothing more."""

from pathlib import Path
from typing import Union

import torch
from pyannote.audio.core.task import Problem, Resolution, Specifications
from torch.torch_version import TorchVersion

#: checkpoint keys `pyannote.audio.core.model.Model.from_pretrained` reads
#: ("pytorch-lightning_version" is checked by Model.on_load_checkpoint)
KEPT_KEYS = ("pyannote.audio", "state_dict", "hyper_parameters", "pytorch-lightning_version")

#: non-tensor types of pyannote.audio checkpoints ("pyannote.audio" metadata)
CHECKPOINT_SAFE_GLOBALS = [TorchVersion, Specifications, Problem, Resolution]


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
    loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
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

"""Resumable `pyannote-audio-train` runs (a Hydra callback).

pyannote.audio 3.4's training CLI calls ``trainer.fit(model)`` with no checkpoint,
so an interrupted run restarts from scratch. Adding this Hydra callback to the
command line makes the same command resume:

    pyannote-audio-train ... hydra.run.dir=RUN_DIR \\
        +hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining

* when ``RUN_DIR/last.ckpt`` exists (pyannote's ``ModelCheckpoint`` writes it every
  epoch; the newest ``last*.ckpt`` when Lightning added a version suffix), training
  resumes from it: weights, optimizer, scheduler, epoch and step
  counts, callbacks (the best checkpoints so far, early stopping and the
  ``trainer.max_time`` budget already spent);
* :class:`~pyannote_resnet50.tasks.callbacks.TrainingCurve` writes
  ``RUN_DIR/training_curve.{csv,png}`` (training loss and development metrics per
  epoch).

``last.ckpt`` is loaded with ``weights_only=True`` and the allow-list of plain-data
types of :func:`pyannote_resnet50.models.checkpoint.load_checkpoint`: nothing else is
unpickled.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback
from pytorch_lightning import Trainer
from omegaconf import DictConfig

from pyannote_resnet50.models.checkpoint import training_checkpoint_globals
from pyannote_resnet50.tasks.callbacks import TrainingCurve

LAST_CHECKPOINT = "last.ckpt"

log = logging.getLogger(__name__)


def resumable_fit(fit):
    """Wrap `Trainer.fit`: resume from ./last.ckpt when it exists, add `TrainingCurve`"""

    @functools.wraps(fit)
    def wrapper(self: Trainer, model, *args, ckpt_path=None, weights_only=None, **kwargs):
        if not any(isinstance(callback, TrainingCurve) for callback in self.callbacks):
            self.callbacks.append(TrainingCurve(Path.cwd()))
        # Lightning writes last-v1.ckpt (and so on) when last.ckpt exists but was not
        # written by this run's checkpoint callback (e.g. a copied run directory)
        candidates = sorted(Path.cwd().glob("last*.ckpt"), key=lambda path: path.stat().st_mtime)
        last = candidates[-1] if candidates else Path.cwd() / LAST_CHECKPOINT
        if ckpt_path is None and last.is_file():
            ckpt_path, weights_only = str(last), True
            print(f"Resuming training from {last}")
        with training_checkpoint_globals():
            return fit(self, model, *args, ckpt_path=ckpt_path, weights_only=weights_only, **kwargs)

    wrapper.__resumable__ = True
    return wrapper


def pretrained(checkpoint: str, task=None, **hparams):
    """Model initialised from `checkpoint` and attached to `task` (Hydra target of ``model=FineTune``)

    Parameters
    ----------
    checkpoint : str
        Path to a pyannote.audio checkpoint (slim or full). Never downloaded.
    task : Task, optional
        The run's task. ``Model.setup`` then builds the task-dependent layers and keeps
        every compatible weight of the checkpoint.
    **hparams
        Hyper-parameters overriding the checkpoint's, for those that change no
        weight (e.g. ``model.freq_mask_width=10`` to fine-tune with SpecAugment).
    """
    from pyannote.audio import Model

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f"model.checkpoint={checkpoint} does not exist: give the absolute path of a local "
            "checkpoint (Hydra changes the working directory; nothing is downloaded)."
        )
    from pyannote_resnet50.models.checkpoint import load_checkpoint, model_class

    model_class(load_checkpoint(path), path)  # the safe loader first: a crafted checkpoint is refused, named
    model = Model.from_pretrained(path, map_location="cpu", **hparams)
    model.task = task
    return model


class ResumableTraining(HydraCallback):
    """Hydra callback making `pyannote-audio-train` resume from the run's last checkpoint"""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not getattr(Trainer.fit, "__resumable__", False):
            Trainer.fit = resumable_fit(Trainer.fit)

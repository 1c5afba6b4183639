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
import warnings
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback
from pytorch_lightning import Trainer
from omegaconf import DictConfig

from pyannote_resnet50.models.checkpoint import LOSS_PREFIX, training_checkpoint_globals
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

    checkpoint = load_checkpoint(path)  # the safe loader first: a crafted checkpoint is refused, named
    model_class(checkpoint, path)
    head = {
        name[len(LOSS_PREFIX):]: tensor
        for name, tensor in checkpoint["state_dict"].items()
        if name.startswith(LOSS_PREFIX)
    }
    # a training checkpoint holds the trainable loss (ArcFace class centres), which the
    # model itself has no layer for: load without it, then check that nothing else is missing
    model = Model.from_pretrained(path, map_location="cpu", strict=not head, **hparams)
    if head:
        expected = {name for name in checkpoint["state_dict"] if not name.startswith(LOSS_PREFIX)}
        missing = sorted(set(model.state_dict()) - expected)
        if missing:
            raise ValueError(
                f"model.checkpoint={path} lacks {len(missing)} weights of its own model, "
                f"e.g. {', '.join(missing[:3])}."
            )
    model.task = task
    if head and task is not None:
        _reuse_loss_head(task, head, path)
    return model


def _reuse_loss_head(task, head: dict, path: Path) -> None:
    """Make `task` start from the trained loss weights `head` when they fit its identities

    ``Model.setup`` builds the task's trainable loss (``task.setup_loss_func``) fresh;
    the checkpoint's weights are loaded into it right after, when their shapes match
    (same identities, same embedding dimension: e.g. a widened model fine-tuned on the
    protocol it was trained on). Otherwise the loss starts fresh, with a warning.
    """
    setup_loss_func = task.setup_loss_func

    def setup_then_reuse():
        setup_loss_func()
        loss_func = getattr(task.model, "loss_func", None)
        own = loss_func.state_dict() if loss_func is not None else {}
        if set(own) == set(head) and all(own[name].shape == head[name].shape for name in own):
            loss_func.load_state_dict(head)
            log.info("Trainable loss initialised from %s", path)
        else:
            warnings.warn(
                f"The trainable loss of {path} does not fit this task (other identities?): "
                "it starts from scratch."
            )

    task.setup_loss_func = setup_then_reuse


class ResumableTraining(HydraCallback):
    """Hydra callback making `pyannote-audio-train` resume from the run's last checkpoint"""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not getattr(Trainer.fit, "__resumable__", False):
            Trainer.fit = resumable_fit(Trainer.fit)

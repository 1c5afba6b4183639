"""Learning-rate schedulers for `pyannote-audio-train` (``scheduler=...`` configs)."""

from typing import Optional, Text

from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau as _ReduceLROnPlateau

__all__ = ["ReduceLROnPlateau"]


def ReduceLROnPlateau(
    optimizer: Optimizer,
    monitor: Optional[Text] = None,
    direction: Optional[Text] = "min",
    min_lr: float = 1e-6,
    max_lr: float = 1e-3,
    factor: float = 0.5,
    patience: int = 4,
    **kwargs,
):
    """Halve the learning rate when the monitored development metric stops improving

    pyannote.audio 3.4's own ``scheduler=ReduceLROnPlateau`` fails with torch >= 2.7
    (it passes the removed ``verbose`` argument); this is the same schedule without it.

    Parameters
    ----------
    optimizer : Optimizer
    monitor : str, optional
        Metric to monitor (the task's ``val_monitor``, given by pyannote-audio-train).
    direction : {"min", "max"}, optional
    min_lr, max_lr : float, optional
        The learning rate starts at `max_lr` and never goes below `min_lr`.
    factor : float, optional
        Multiplies the learning rate on a plateau. Defaults to 0.5.
    patience : int, optional
        Epochs without improvement before reducing. Defaults to 4.
    """
    for group in optimizer.param_groups:
        group["lr"] = max_lr
    return {
        "scheduler": _ReduceLROnPlateau(
            optimizer, mode=direction, factor=factor, patience=patience, min_lr=min_lr
        ),
        "interval": "epoch",
        "monitor": monitor,
        "strict": True,
    }

"""Lightning callbacks for long training runs.

pyannote.audio 3.4 trains with the `pytorch_lightning` package (not `lightning.pytorch`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Dict, List, Optional, Union

from pytorch_lightning import Callback, LightningModule, Trainer
from pytorch_lightning.utilities import rank_zero_only

__all__ = ["TrainingCurve", "plot_training_curve"]


def _read_rows(path: Path) -> List[Dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_training_curve(csv_path: Union[str, Path], png_path: Optional[Union[str, Path]] = None) -> Path:
    """Plot training loss and development metrics per epoch from a `TrainingCurve` CSV

    Parameters
    ----------
    csv_path : str or Path
        ``training_curve.csv`` written by :class:`TrainingCurve`.
    png_path : str or Path, optional
        Defaults to `csv_path` with a ``.png`` suffix.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    csv_path = Path(csv_path)
    png_path = Path(png_path) if png_path else csv_path.with_suffix(".png")
    rows = _read_rows(csv_path)
    keys = list(rows[0]) if rows else []
    rates = [key for key in keys if key.startswith("lr-")]
    metrics = [key for key in keys if key not in ("epoch", "step", "loss/train", "margin", *rates)]
    epochs = [int(r["epoch"]) for r in rows]

    def values(key):
        return [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]

    fig, (ax_loss, ax_metric, ax_schedule) = plt.subplots(1, 3, figsize=(14, 3.8))
    ax_loss.plot(epochs, values("loss/train"), marker=".")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="training loss")
    for key in metrics:
        ax_metric.plot(epochs, values(key), marker=".", label=key)
    ax_metric.set(xlabel="epoch", title="development", ylim=(0, 1))
    if metrics:
        ax_metric.legend()
    for key in rates:
        ax_schedule.semilogy(epochs, values(key), marker=".", label=key, color="tab:blue")
    ax_schedule.set(xlabel="epoch", ylabel="learning rate", title="schedule")
    if "margin" in keys:
        ax_margin = ax_schedule.twinx()
        ax_margin.plot(epochs, values("margin"), marker=".", color="tab:red")
        ax_margin.set_ylabel("ArcFace margin (degrees)", color="tab:red")
    for ax in (ax_loss, ax_metric, ax_schedule):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


class TrainingCurve(Callback):
    """After each epoch (and its validation), append its training loss and validation metrics to a CSV, redraw its PNG

    Parameters
    ----------
    dirpath : str or Path, optional
        Where ``training_curve.{csv,png}`` are written. Defaults to the current
        directory (a `pyannote-audio-train` run directory).
    """

    def __init__(self, dirpath: Union[str, Path] = "."):
        super().__init__()
        self.dirpath = Path(dirpath)

    @property
    def csv_path(self) -> Path:
        return self.dirpath / "training_curve.csv"

    @rank_zero_only
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {
            key: float(value)
            for key, value in trainer.callback_metrics.items()
            if getattr(value, "numel", lambda: 1)() == 1
        }
        row = {"epoch": trainer.current_epoch, "step": trainer.global_step, **metrics}
        rows = [r for r in _read_rows(self.csv_path) if int(r["epoch"]) != trainer.current_epoch]
        rows.append({key: str(value) for key, value in row.items()})
        keys = list(dict.fromkeys(key for r in rows for key in r))
        self.dirpath.mkdir(parents=True, exist_ok=True)
        tmp = self.csv_path.with_name(f".{self.csv_path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.csv_path)
        plot_training_curve(self.csv_path)

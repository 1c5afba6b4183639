"""Speaker embedding tasks."""

from .file_scoped import FileScopedSpeakerEmbedding, noise_and_gain
from .metrics import TrialAUROC, TrialEqualErrorRate, TrialMetric

__all__ = [
    "FileScopedSpeakerEmbedding",
    "noise_and_gain",
    "TrialMetric",
    "TrialEqualErrorRate",
    "TrialAUROC",
]

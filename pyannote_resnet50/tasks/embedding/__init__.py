"""Speaker embedding tasks."""

from pyannote_resnet50.augmentation import noise_and_gain

from .file_scoped import FileScopedSpeakerEmbedding
from .metrics import TrialAUROC, TrialEqualErrorRate, TrialMetric

__all__ = [
    "FileScopedSpeakerEmbedding",
    "noise_and_gain",
    "TrialMetric",
    "TrialEqualErrorRate",
    "TrialAUROC",
]

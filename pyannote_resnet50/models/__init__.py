"""pyannote.audio models of pyannote_resnet50."""

from .embedding import ResNet50

__all__ = ["ResNet50"]

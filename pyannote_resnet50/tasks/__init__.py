"""pyannote.audio tasks of pyannote_resnet50."""

from .embedding import FileScopedSpeakerEmbedding, noise_and_gain

__all__ = ["FileScopedSpeakerEmbedding", "noise_and_gain"]

"""pyannote_resnet50: ResNet50 speaker embeddings and speaker diarization for pyannote.audio 3.4."""

__version__ = "0.1.0"

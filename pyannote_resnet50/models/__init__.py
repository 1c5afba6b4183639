"""pyannote.audio models of pyannote_resnet50."""

from .checkpoint import allow_pyannote_checkpoints, save_slim_checkpoint
from .embedding import ResNet50

# make Model.from_pretrained work on pyannote.audio checkpoints with torch >= 2.6
allow_pyannote_checkpoints()

__all__ = ["ResNet50", "save_slim_checkpoint", "allow_pyannote_checkpoints"]

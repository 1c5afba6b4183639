"""pyannote_resnet50: ResNet50 speaker embeddings and speaker diarization for pyannote.audio 3.4.

Importing the package itself is cheap (no torch, no pyannote.audio), so that the command
line starts at once; its subpackages (``pyannote_resnet50.models``, ``.pipelines``...)
import torch and pyannote.audio. Importing ``pyannote_resnet50.models`` (which every
loader of the package does, and ``Pipeline.from_pretrained`` on one of our config.yaml)
allow-lists the metadata types of pyannote.audio checkpoints for torch's safe loader
(:func:`pyannote_resnet50.models.checkpoint.allow_pyannote_checkpoints`).
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

#: path of the shipped pipeline's config.yaml, usable from any directory:
#: ``pyannote.audio.Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)``
DEFAULT_PIPELINE = str(_Path(__file__).resolve().parent / "data" / "checkpoints" / "config.yaml")

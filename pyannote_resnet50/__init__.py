"""pyannote_resnet50: ResNet50 speaker embeddings and speaker diarization for pyannote.audio 3.4."""

from pathlib import Path as _Path

__version__ = "0.1.0"

#: path of the shipped pipeline's config.yaml, usable from any directory:
#: ``pyannote.audio.Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)``
DEFAULT_PIPELINE = str(_Path(__file__).resolve().parent / "data" / "checkpoints" / "config.yaml")


def _allow_pyannote_checkpoints() -> None:
    # torch >= 2.6 unpickles checkpoints with ``weights_only=True`` and refuses the
    # (plain data) metadata types of pyannote.audio checkpoints, which makes
    # pyannote.audio 3.4's ``Model.from_pretrained`` fail on any checkpoint. Importing
    # pyannote_resnet50 (which ``Pipeline.from_pretrained`` does for our config.yaml)
    # allow-lists them, for our checkpoints and for stock pyannote pipelines alike.
    import warnings

    with warnings.catch_warnings():
        # importing pyannote.audio 3.4 calls torchaudio 2.8's deprecated list_audio_backends (harmless)
        warnings.filterwarnings("ignore", message=r"torchaudio\._backend\.list_audio_backends has been deprecated",
                                category=UserWarning)
        from pyannote_resnet50.models.checkpoint import allow_pyannote_checkpoints

    allow_pyannote_checkpoints()


_allow_pyannote_checkpoints()

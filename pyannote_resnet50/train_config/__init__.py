"""Hydra configs of pyannote_resnet50 for `pyannote-audio-train` (see hydra_plugins/pyannote_resnet50)."""

"""Segmentation models: pyannote.audio's PyanNet, and :mod:`.deepen` (more LSTM layers for a trained one)."""

"""Audio input / output: the one loader every part of pyannote_resnet50 uses.

Reading goes through :class:`pyannote.audio.core.io.Audio` (16 kHz, mono downmix),
exactly as pyannote.audio models and pipelines read audio, so that the model, the
simulator, the EDA and the benchmarks see the same samples.
"""

from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
from pyannote.audio.core.io import Audio, AudioFile
from pyannote.core import Segment

SAMPLE_RATE = 16000

__all__ = ["SAMPLE_RATE", "load_audio", "crop_audio", "save_audio", "get_duration"]


def _audio(sample_rate: int = SAMPLE_RATE) -> Audio:
    return Audio(sample_rate=sample_rate, mono="downmix")


def load_audio(file: AudioFile, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Load a whole file as a mono float32 array at `sample_rate`.

    Parameters
    ----------
    file : AudioFile
        Path, or pyannote ``{"audio": path}`` / ``{"waveform": ..., "sample_rate": ...}`` mapping.
    sample_rate : int, optional
        Target sample rate. Defaults to 16 kHz.

    Returns
    -------
    waveform : (num_samples, ) np.ndarray
    """
    waveform, _ = _audio(sample_rate)(file)
    return waveform[0].numpy().astype(np.float32, copy=False)


def crop_audio(
    file: AudioFile, segment: Segment, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Load `segment` of `file` as a mono float32 array (zero-padded past the end)."""
    waveform, _ = _audio(sample_rate).crop(file, segment, mode="pad")
    return waveform[0].numpy().astype(np.float32, copy=False)


def get_duration(file: AudioFile) -> float:
    """Duration of `file`, in seconds, read from its header."""
    return _audio().get_duration(file)


def save_audio(
    path: Union[str, Path], waveform: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> Path:
    """Write a mono waveform in [-1, 1] as 16-bit PCM (format from the suffix: .wav, .flac)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    waveform = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0)
    sf.write(path, waveform, sample_rate, subtype="PCM_16")
    return path

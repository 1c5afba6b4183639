"""Audio input / output: the one loader every part of pyannote_resnet50 uses.

Reading goes through :class:`pyannote.audio.core.io.Audio` (16 kHz, mono downmix),
exactly as pyannote.audio models and pipelines read audio, so that the model, the
simulator, the EDA and the benchmarks see the same samples.

Samples must be finite: a NaN or infinite sample (only possible in floating-point
files, e.g. 32-bit float WAV) would silently turn into NaN scores, embeddings and
losses. :func:`load_audio` and :func:`crop_audio` raise :class:`NonFiniteAudioError`
naming the file and the time of the first bad sample; :func:`check_audio` checks a
whole file without loading it at once (for code that reads audio with pyannote's
``Audio`` directly, such as pipelines).
"""

from io import IOBase
from pathlib import Path
from typing import Mapping, Union

import numpy as np
import soundfile as sf
import torch
from pyannote.audio.core.io import Audio, AudioFile
from pyannote.core import Segment

SAMPLE_RATE = 16000

__all__ = [
    "SAMPLE_RATE",
    "NonFiniteAudioError",
    "load_audio",
    "crop_audio",
    "check_audio",
    "check_finite",
    "save_audio",
    "get_duration",
]


class NonFiniteAudioError(ValueError):
    """Audio holding NaN or infinite samples"""


def _name(file: AudioFile) -> str:
    """How to name `file` in messages: its path, else its uri"""
    if isinstance(file, Mapping):
        audio = file.get("audio")
        return str(audio) if isinstance(audio, (str, Path)) else f"audio of '{file.get('uri', 'waveform')}'"
    return str(file)


def check_finite(
    waveform: Union[np.ndarray, torch.Tensor], file: AudioFile, sample_rate: int, offset: float = 0.0
) -> None:
    """Raise :class:`NonFiniteAudioError` when `waveform` holds a NaN or infinite sample

    Parameters
    ----------
    waveform : (num_samples, ) or (num_channels, num_samples) array or tensor
    file : AudioFile
        Where `waveform` comes from (named in the message).
    sample_rate : int
        Sample rate of `waveform`.
    offset : float, optional
        Time of the first sample of `waveform` in `file`, in seconds.
    """
    samples = waveform.detach().cpu().numpy() if isinstance(waveform, torch.Tensor) else np.asarray(waveform)
    finite = np.isfinite(samples)
    if finite.all():
        return
    finite = finite.reshape(-1, finite.shape[-1]).all(axis=0)
    first = int(np.argmin(finite))
    value = samples.reshape(-1, samples.shape[-1])[:, first]
    value = value[~np.isfinite(value)][0]
    raise NonFiniteAudioError(
        f"{_name(file)}: sample at {offset + first / sample_rate:.3f} s is {value} ({int((~finite).sum())} "
        f"non-finite samples between {offset:.3f} s and {offset + len(finite) / sample_rate:.3f} s): the audio "
        f"is corrupt. Re-export it from its source, or replace the non-finite samples (e.g. numpy.nan_to_num) "
        f"and write it again."
    )


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

    Raises
    ------
    NonFiniteAudioError
        When a sample is NaN or infinite (naming the file and the time of the first one).
    """
    waveform, _ = _audio(sample_rate)(file)
    check_finite(waveform, file, sample_rate)
    return waveform[0].numpy().astype(np.float32, copy=False)


def crop_audio(
    file: AudioFile, segment: Segment, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Load `segment` of `file` as a mono float32 array (zero-padded past the end).

    Raises
    ------
    NonFiniteAudioError
        When a sample of `segment` is NaN or infinite.
    """
    waveform, _ = _audio(sample_rate).crop(file, segment, mode="pad")
    check_finite(waveform, file, sample_rate, offset=segment.start)
    return waveform[0].numpy().astype(np.float32, copy=False)


def check_audio(file: AudioFile, block_duration: float = 60.0) -> None:
    """Check that every sample of `file` is finite, without loading it whole

    Integer-coded files (PCM WAV, FLAC, MP3...) cannot hold a non-finite sample: their
    header is read, not their samples. Floating-point files are read block by block.
    In-memory waveforms are checked as they are; streams (file objects) are not checked.

    Parameters
    ----------
    file : AudioFile
        Path, or pyannote ``{"audio": path}`` / ``{"waveform": ..., "sample_rate": ...}`` mapping.
    block_duration : float, optional
        Duration of the blocks read at once, in seconds. Defaults to 60.

    Raises
    ------
    NonFiniteAudioError
        Naming the file and the time of its first non-finite sample.
    """
    if isinstance(file, Mapping) and "waveform" in file:
        return check_finite(file["waveform"], file, file["sample_rate"])
    path = file.get("audio") if isinstance(file, Mapping) else file
    if isinstance(path, IOBase):
        return
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):  # a format soundfile cannot read: load it
        waveform, sample_rate = _audio()(file)
        return check_finite(waveform, file, sample_rate)
    if info.subtype not in ("FLOAT", "DOUBLE"):
        return
    blocksize = max(1, int(block_duration * info.samplerate))
    for b, block in enumerate(sf.blocks(str(path), blocksize=blocksize, dtype="float64", always_2d=True)):
        check_finite(block.T, file, info.samplerate, offset=b * blocksize / info.samplerate)


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

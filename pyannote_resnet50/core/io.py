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

In-memory audio (``{"waveform": ..., "sample_rate": ...}``) is validated by
:func:`validate_file`, pyannote's ``Audio.validate_file`` made to accept what users pass
to pyannote pipelines: any float dtype (cast to float32), 8 / 16 / 32-bit integer PCM
(scaled to [-1, 1]), numpy arrays, ``(time,)`` as well as ``(channel, time)``; anything
else, and a sample rate that is not a positive integer, is refused with a message
saying what to pass.
"""

import numbers
from collections.abc import MutableMapping
from io import IOBase
from pathlib import Path
from typing import Any, Mapping, Union

import numpy as np
import soundfile as sf
import torch
from pyannote.audio.core.io import Audio, AudioFile
from pyannote.core import Segment

SAMPLE_RATE = 16000

__all__ = [
    "SAMPLE_RATE",
    "PCM_FULL_SCALE",
    "NonFiniteAudioError",
    "validate_file",
    "check_sample_rate",
    "load_audio",
    "crop_audio",
    "check_audio",
    "check_finite",
    "save_audio",
    "get_duration",
]


#: integer sample types of PCM audio and their full scale (8-bit PCM is unsigned, centred on 128)
PCM_FULL_SCALE = {torch.uint8: 128.0, torch.int8: 128.0, torch.int16: 32768.0, torch.int32: 2147483648.0}

#: what a waveform should be, ending every refusal of :func:`validate_file`
WAVEFORM_HELP = ("pass {'waveform': samples, 'sample_rate': int} with samples a torch.Tensor or numpy array of "
                 "shape (channel, time) or (time,): floats in [-1, 1], or 8 / 16 / 32-bit integer PCM")


class NonFiniteAudioError(ValueError):
    """Audio holding NaN or infinite samples"""


def check_sample_rate(sample_rate: Any) -> int:
    """`sample_rate` as an int, refused unless it is a positive whole number

    Parameters
    ----------
    sample_rate : int-like
        int, numpy integer, or a float with an integer value (16000.0).

    Returns
    -------
    sample_rate : int

    Raises
    ------
    TypeError
        When it is no number (e.g. "16000", None, True).
    ValueError
        When it is not a positive whole number (0, -8000, 22050.5, nan).
    """
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, numbers.Real):
        raise TypeError(f"'sample_rate' must be a positive integer number of samples per second (e.g. 16000), not "
                        f"{sample_rate!r} ({type(sample_rate).__name__}).")
    if not (np.isfinite(sample_rate) and float(sample_rate).is_integer() and sample_rate > 0):
        raise ValueError(f"'sample_rate' must be a positive integer number of samples per second (e.g. 16000), not "
                         f"{sample_rate!r}.")
    return int(sample_rate)


def _as_tensor(samples: Any) -> torch.Tensor:
    """`samples` (tensor or numpy array) as a float32 tensor, integer PCM scaled to [-1, 1]"""
    if isinstance(samples, np.ndarray):
        if samples.dtype.kind == "f":
            samples = samples.astype(np.float32, copy=False)  # float16 ... longdouble
        if samples.dtype.kind not in "fiu" or samples.dtype.itemsize > 4 and samples.dtype.kind != "f":
            raise TypeError(f"'waveform' holds numpy {samples.dtype} samples: {WAVEFORM_HELP}.")
        samples = torch.from_numpy(np.array(samples) if not samples.flags.writeable else samples)
    elif not isinstance(samples, torch.Tensor):
        raise TypeError(f"'waveform' is a {type(samples).__name__}: {WAVEFORM_HELP}.")
    if samples.is_floating_point():
        return samples.float()
    if samples.dtype in PCM_FULL_SCALE:
        offset = 128.0 if samples.dtype == torch.uint8 else 0.0
        return (samples.float() - offset) / PCM_FULL_SCALE[samples.dtype]
    raise TypeError(f"'waveform' holds {str(samples.dtype).replace('torch.', '')} samples, which have no audio "
                    f"scale: {WAVEFORM_HELP} (e.g. waveform.float() / 32768 for 16-bit values).")


def validate_file(file: AudioFile) -> Mapping:
    """Validate `file` as pyannote.audio's ``Audio.validate_file``, converting in-memory waveforms

    A ``{"waveform": ..., "sample_rate": ...}`` mapping may hold a tensor of any float
    dtype (cast to float32), of 8 / 16 / 32-bit integer PCM (scaled to [-1, 1]: int16
    by 32768, uint8 centred on 128), or a numpy array of those (converted); of shape
    ``(channel, time)`` or ``(time,)`` (one channel). Paths, ``{"audio": ...}`` mappings
    and streams are pyannote's.

    Parameters
    ----------
    file : AudioFile

    Returns
    -------
    file : Mapping
        As ``Audio.validate_file``: ``{"waveform": (channel, time) float32 tensor,
        "sample_rate": int, "uri": ...}`` for in-memory audio (a copy when the caller's
        dict had to be converted; a ``ProtocolFile`` is updated in place).

    Raises
    ------
    TypeError
        When the waveform is no tensor or array, or holds other samples (int64, bool,
        complex), or the sample rate is no number.
    ValueError
        When the waveform is empty, of another shape, or looks transposed, or the
        sample rate is not a positive integer.
    """
    if not (isinstance(file, Mapping) and "waveform" in file):
        return Audio.validate_file(file)
    if "sample_rate" not in file or file["sample_rate"] is None:
        raise ValueError(f"'waveform' comes without its 'sample_rate': {WAVEFORM_HELP}.")
    sample_rate = check_sample_rate(file["sample_rate"])
    waveform = _as_tensor(file["waveform"])
    if waveform.ndim == 1:
        waveform = waveform[None]
    if waveform.ndim != 2:
        raise ValueError(f"'waveform' has shape {tuple(waveform.shape)}: {WAVEFORM_HELP}.")
    if waveform.shape[1] == 0:
        raise ValueError(f"'waveform' of shape {tuple(waveform.shape)} holds no sample.")
    if waveform.shape[0] > waveform.shape[1]:
        raise ValueError(f"'waveform' of shape {tuple(waveform.shape)} has more channels than samples: it looks "
                         "like (time, channel); pass waveform.T, of shape (channel, time).")
    if waveform is not file["waveform"] or sample_rate is not file["sample_rate"]:
        if isinstance(file, MutableMapping) and not isinstance(file, dict):
            file["waveform"], file["sample_rate"] = waveform, sample_rate  # e.g. ProtocolFile: keep its lazy keys
        else:
            file = {**file, "waveform": waveform, "sample_rate": sample_rate}
    return Audio.validate_file(file)


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

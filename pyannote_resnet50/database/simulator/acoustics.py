"""Room acoustics and channel of a simulated recording: reverberation, band-limiting.

Each speaker of a reverberant recording gets its own impulse response (a speaker's
position in the room): a measured one (``../shared/data/noise/rir``) or a simulated
room (:func:`pyannote_resnet50.augmentation.simulate_impulse_response`, the generator
the training augmentation uses). Labels keep the dry speech regions: the reverberation
tail is not speech. A band-limited recording went through a narrow channel: the 8 kHz
telephone band (300-3400 Hz) or an 8-bit mu-law codec.
"""

from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import scipy.signal

from ...augmentation import audio_files, load_impulse_response, simulate_impulse_response
from ...core.io import SAMPLE_RATE

__all__ = ["impulse_responses", "reverberate", "telephone_band", "mu_law_codec", "band_limit"]


@lru_cache(maxsize=64)
def _measured(path: str) -> np.ndarray:
    rir = load_impulse_response(path)
    rir.setflags(write=False)
    return rir


def impulse_responses(
    rng: np.random.Generator, num_speakers: int, rir: Optional[Sequence[Union[str, Path]]] = None
) -> List[np.ndarray]:
    """One impulse response per speaker of a reverberant recording.

    Parameters
    ----------
    rng : np.random.Generator
    num_speakers : int
    rir : list of paths, optional
        Measured impulse responses (files or folders). With them, the recording is in
        one measured room (all speakers share its response) half of the time; otherwise
        every speaker has its own simulated response in one simulated room (same
        reverberation time, different direct-to-reverberant ratios).

    Returns
    -------
    responses : list of (num_samples, ) np.ndarray
        Unit energy, direct path first.
    """
    measured = audio_files(rir) if rir else []
    if measured and rng.random() < 0.5:
        response = _measured(str(measured[int(rng.integers(len(measured)))]))
        return [response] * num_speakers
    rt60 = float(rng.uniform(0.15, 1.0))
    return [simulate_impulse_response(rng, rt60=rt60) for _ in range(num_speakers)]


def reverberate(waveform: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`waveform` convolved with `response` (its reverberation tail included)."""
    return scipy.signal.oaconvolve(waveform, response).astype(np.float32)


def telephone_band(waveform: np.ndarray) -> np.ndarray:
    """`waveform` through the 8 kHz telephone band: resampled to 8 kHz, 300-3400 Hz, back to 16 kHz."""
    narrow = scipy.signal.resample_poly(waveform, 1, SAMPLE_RATE // 8000)
    sos = scipy.signal.butter(4, [300.0, 3400.0], btype="bandpass", fs=8000, output="sos")
    narrow = scipy.signal.sosfilt(sos, narrow)
    return scipy.signal.resample_poly(narrow, SAMPLE_RATE // 8000, 1)[: len(waveform)].astype(np.float32)


def mu_law_codec(waveform: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """`waveform` encoded and decoded by an 8-bit mu-law codec (G.711-like quantisation noise)."""
    peak = float(np.max(np.abs(waveform))) or 1.0
    x = np.clip(waveform / peak, -1.0, 1.0)
    encoded = np.round((np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) + 1.0) / 2.0 * mu)
    y = 2.0 * encoded / mu - 1.0
    return (peak * np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


def band_limit(rng: np.random.Generator, waveform: np.ndarray) -> np.ndarray:
    """:func:`telephone_band` or :func:`mu_law_codec`, half each."""
    return telephone_band(waveform) if rng.random() < 0.5 else mu_law_codec(waveform)

"""Data augmentation: real noise, reverberation, band-limiting, gain and speed.

One module for every task (the simulator still has its own coloured noise: issue 10). Transforms are
torch-audiomentations transforms (``(batch, channel, samples)`` in, ``ObjectDict``
out), so that they plug into pyannote.audio tasks as ``augmentation=``:

* :class:`BackgroundNoise`: real background noise (``../shared/data/noise/noise``) at a
  random SNR; torch-audiomentations' ``AddBackgroundNoise`` with the noise held in
  memory instead of re-read from disk for every chunk;
* :class:`Reverberation`: convolution with a room impulse response, real (measured,
  ``../shared/data/noise/rir``) or simulated (:func:`simulate_impulse_response`);
  torch-audiomentations' ``ApplyImpulseResponse`` with the responses in memory;
* :class:`Codec`: a round trip through a lossy speech codec of libsndfile (Opus and MP3 at
  low bitrates, GSM 6.10 and 8-bit mu-law telephone audio at 8 kHz);
* torch-audiomentations' ``LowPassFilter`` (telephone-like band-limiting), ``Gain`` and
  ``AddColoredNoise``;
* :func:`noise_and_gain` (gain and coloured noise, `+augmentation=NoiseGain`) and
  :func:`real_world_augmentation` (all of the above) build ready-made compositions;
* :func:`speed_perturb`: Kaldi-style speed perturbation (tempo and pitch change
  together) by polyphase resampling; the embedding task uses it to make new identities.

:data:`HELD_OUT_NOISES` are never used for training: they are kept for evaluating how
much speech is found in noise-only input.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np
import scipy.signal
import soundfile as sf
import torch
import torchaudio
from torch import Tensor
from torch_audiomentations import AddBackgroundNoise, AddColoredNoise, ApplyImpulseResponse, Compose, Gain, LowPassFilter
from torch_audiomentations.core.transforms_interface import BaseWaveformTransform
from torch_audiomentations.utils.object_dict import ObjectDict

from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio

#: real noise files (stems) kept out of training, one per kind of noise
HELD_OUT_NOISES = (
    "domestic_misc__jtg__fireplace",
    "kitchen_water__speechcommands__running_tap",
    "music__digabi__scott_hamster_haven",
    "nature_weather__jtg__rain",
    "street_city__jtg__city",
    "transport__blanket__train",
)

AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".mp3")

__all__ = [
    "HELD_OUT_NOISES",
    "audio_files",
    "training_noise_files",
    "held_out_noise_files",
    "simulate_impulse_response",
    "speed_perturb",
    "BackgroundNoise",
    "Reverberation",
    "Codec",
    "CODECS",
    "noise_and_gain",
    "real_world_augmentation",
]


def audio_files(paths: Union[str, Path, Iterable[Union[str, Path]]]) -> List[Path]:
    """Audio files in `paths` (files, or folders searched recursively), sorted.

    Raises
    ------
    FileNotFoundError
        When a path does not exist or no audio file is found.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(
                f"'{path}' does not exist: give a folder of audio files (for instance "
                f"../shared/data/noise/noise) or an audio file."
            )
    if not files:
        raise FileNotFoundError(f"no audio file ({', '.join(AUDIO_SUFFIXES)}) in {[str(p) for p in paths]}.")
    return sorted(files)


def training_noise_files(paths) -> List[Path]:
    """Noise files of `paths` that may be used for training (all but :data:`HELD_OUT_NOISES`)."""
    return [path for path in audio_files(paths) if path.stem not in HELD_OUT_NOISES]


def held_out_noise_files(paths) -> List[Path]:
    """Noise files of `paths` kept out of training (:data:`HELD_OUT_NOISES`)."""
    return [path for path in audio_files(paths) if path.stem in HELD_OUT_NOISES]


def simulate_impulse_response(
    rng: np.random.Generator,
    rt60: Optional[float] = None,
    drr_db: Optional[float] = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Room impulse response of a simulated room (statistical reverberation model).

    A direct-path impulse followed by exponentially decaying Gaussian noise (the
    late-reverberation model of Polack), whose decay gives the reverberation time;
    absorption grows with frequency: the noise above about 1.5 kHz decays in 60 % of
    the reverberation time.

    Parameters
    ----------
    rng : np.random.Generator
    rt60 : float, optional
        Reverberation time, in seconds. Defaults to uniform in [0.15, 1.0].
    drr_db : float, optional
        Direct-to-reverberant energy ratio, in dB. Defaults to uniform in [-6, 12].
    sample_rate : int, optional

    Returns
    -------
    rir : (num_samples, ) np.ndarray
        Unit-energy impulse response, direct path at sample 0, 1.2 x rt60 long.
    """
    rt60 = rng.uniform(0.15, 1.0) if rt60 is None else rt60
    drr_db = rng.uniform(-6.0, 12.0) if drr_db is None else drr_db
    num_samples = max(int(1.2 * rt60 * sample_rate), 2)
    t = np.arange(num_samples) / sample_rate
    noise = rng.standard_normal(num_samples)
    pole = np.exp(-2.0 * np.pi * 1500.0 / sample_rate)
    low = scipy.signal.lfilter([1.0 - pole], [1.0, -pole], noise)
    smoothed = low * np.exp(-6.9078 * t / rt60) + (noise - low) * np.exp(-6.9078 * t / (0.6 * rt60))
    # reverberation starts a few ms after the direct path
    onset = int(rng.uniform(0.002, 0.01) * sample_rate)
    smoothed[:onset] = 0.0
    smoothed /= np.sqrt(np.sum(smoothed**2)) + 1e-12
    rir = smoothed * 10 ** (-drr_db / 20.0)
    rir[0] = 1.0
    return (rir / np.sqrt(np.sum(rir**2))).astype(np.float32)


def load_impulse_response(path: Union[str, Path]) -> np.ndarray:
    """Measured impulse response, starting at its direct path, with unit energy."""
    rir = load_audio(path)
    rir = rir[int(np.argmax(np.abs(rir))) :]
    return (rir / (np.sqrt(np.sum(rir.astype(np.float64) ** 2)) + 1e-12)).astype(np.float32)


def speed_perturb(waveform: Tensor, factor: float, num_samples: Optional[int] = None) -> Tensor:
    """Play `waveform` `factor` times faster (tempo and pitch, as Kaldi's sox speed).

    Parameters
    ----------
    waveform : (..., samples) Tensor
    factor : float
        Speed factor, e.g. 0.9 or 1.1 (rounded to 1/100).
    num_samples : int, optional
        Zero-pad or cut the output to this length.

    Returns
    -------
    perturbed : (..., ceil(samples / factor)) Tensor
    """
    if factor != 1.0:
        waveform = torchaudio.functional.resample(waveform, orig_freq=int(round(100 * factor)), new_freq=100)
    if num_samples is not None:
        if waveform.shape[-1] < num_samples:
            waveform = torch.nn.functional.pad(waveform, (0, num_samples - waveform.shape[-1]))
        waveform = waveform[..., :num_samples]
    return waveform


class BackgroundNoise(AddBackgroundNoise):
    """Add real background noise at a random SNR (noise held in memory)

    Parameters
    ----------
    background_paths : str, Path or list
        Noise files, or folders searched recursively.
    min_snr_in_db, max_snr_in_db : float, optional
        SNR range. Default to [0, 20] dB.
    p : float, optional
        Probability of applying the transform to each sample. Defaults to 0.5.
    exclude_held_out : bool, optional
        Leave :data:`HELD_OUT_NOISES` out. Defaults to True.
    """

    def __init__(
        self,
        background_paths,
        min_snr_in_db: float = 0.0,
        max_snr_in_db: float = 20.0,
        p: float = 0.5,
        exclude_held_out: bool = True,
        sample_rate: int = SAMPLE_RATE,
        output_type: str = "dict",
    ):
        files = training_noise_files(background_paths) if exclude_held_out else audio_files(background_paths)
        # torch-audiomentations' own constructor only knows some audio suffixes (no FLAC)
        BaseWaveformTransform.__init__(self, p=p, sample_rate=sample_rate, output_type=output_type)
        if min_snr_in_db > max_snr_in_db:
            raise ValueError("min_snr_in_db must not be greater than max_snr_in_db")
        self.min_snr_in_db, self.max_snr_in_db = min_snr_in_db, max_snr_in_db
        self.background_paths = files
        self.noises = [torch.from_numpy(load_audio(path, sample_rate)) for path in files]
        self.noises = [noise for noise in self.noises if noise.abs().max() > 0]

    def random_background(self, audio, target_num_samples: int) -> Tensor:
        """(1, target_num_samples) RMS-normalised crop of a random noise (looped if too short)"""
        noise = random.choice(self.noises)
        if len(noise) < target_num_samples:
            noise = noise.repeat(target_num_samples // len(noise) + 1)
        start = random.randint(0, len(noise) - target_num_samples)
        piece = noise[start : start + target_num_samples][None]
        return piece / (piece.pow(2).mean().sqrt() + 1e-8)


class Reverberation(ApplyImpulseResponse):
    """Convolve with a real or simulated room impulse response (held in memory)

    Parameters
    ----------
    ir_paths : str, Path or list, optional
        Measured impulse responses (files or folders).
    num_simulated_rooms : int, optional
        Number of simulated impulse responses (:func:`simulate_impulse_response`).
        Defaults to 200.
    p : float, optional
        Probability of applying the transform to each sample. Defaults to 0.3.
    seed : int, optional
        Seed of the simulated rooms.
    """

    def __init__(
        self,
        ir_paths=None,
        num_simulated_rooms: int = 200,
        p: float = 0.3,
        seed: int = 0,
        sample_rate: int = SAMPLE_RATE,
        output_type: str = "dict",
    ):
        BaseWaveformTransform.__init__(self, p=p, sample_rate=sample_rate, output_type=output_type)
        self.convolve_mode = "full"
        self.compensate_for_propagation_delay = True
        measured = [load_impulse_response(path) for path in audio_files(ir_paths)] if ir_paths else []
        rng = np.random.default_rng(seed)
        simulated = [simulate_impulse_response(rng, sample_rate=sample_rate) for _ in range(num_simulated_rooms)]
        self.impulse_responses = [torch.from_numpy(ir) for ir in measured + simulated]
        # measured rooms are few: draw them as often as all simulated rooms together
        self.weights = [0.5 / max(len(measured), 1)] * len(measured) + [
            (0.5 if measured else 1.0) / max(len(simulated), 1)
        ] * len(simulated)
        if not self.impulse_responses:
            raise ValueError("Reverberation needs `ir_paths` or `num_simulated_rooms` > 0.")

    def randomize_parameters(self, samples: Tensor = None, sample_rate=None, targets=None, target_rate=None):
        batch_size = samples.shape[0]
        chosen = random.choices(range(len(self.impulse_responses)), weights=self.weights, k=batch_size)
        irs = [self.impulse_responses[i] for i in chosen]
        length = max(len(ir) for ir in irs)
        self.transform_parameters["ir"] = torch.stack(
            [torch.nn.functional.pad(ir, (0, length - len(ir))) for ir in irs]
        )[:, None]
        self.transform_parameters["ir_paths"] = chosen


#: codecs of :class:`Codec`: name -> (libsndfile format, subtype, sample rate, compression
#: levels drawn from (0: best quality, 1: smallest), relative frequency). Measured on a 3 s
#: LibriSpeech chunk: Opus 0.9 / 0.98 -> 33 / 13 kbit/s (about 120 ms per round trip, hence
#: its low frequency: most non-LibriSpeech training audio is Opus already), MP3 0.7 / 0.99 ->
#: 33 / 24 kbit/s (20 ms), GSM 6.10 13 kbit/s (13 ms), mu-law (< 1 ms).
CODECS = {
    "opus": ("OGG", "OPUS", SAMPLE_RATE, (0.9, 0.98), 0.1),
    "mp3": ("MP3", "MPEG_LAYER_III", SAMPLE_RATE, (0.7, 0.99), 0.35),
    "gsm": ("WAV", "GSM610", 8000, None, 0.35),
    "mulaw": ("WAV", "ULAW", 8000, None, 0.2),
}


def codec_round_trip(waveform: np.ndarray, codec: str, level: float = 0.9, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Encode a mono waveform with a lossy codec of libsndfile and decode it back.

    Parameters
    ----------
    waveform : (num_samples, ) np.ndarray
        Float samples in [-1, 1] (clipped).
    codec : str
        A key of :data:`CODECS`.
    level : float, optional
        libsndfile compression level, for codecs that take one (Opus, MP3).
    sample_rate : int, optional
        Sample rate of `waveform`. 8 kHz codecs resample to 8 kHz and back.

    Returns
    -------
    decoded : (num_samples, ) np.ndarray
        Same length and sample rate as `waveform`.
    """
    fmt, subtype, rate, levels, _ = CODECS[codec]
    x = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0)
    if rate != sample_rate:
        x = scipy.signal.resample_poly(x, rate, sample_rate).astype(np.float32)
    buffer = io.BytesIO()
    options = {"compression_level": level} if levels is not None else {}
    sf.write(buffer, x, rate, format=fmt, subtype=subtype, **options)
    buffer.seek(0)
    y, _ = sf.read(buffer, dtype="float32")
    if rate != sample_rate:
        y = scipy.signal.resample_poly(y, sample_rate, rate).astype(np.float32)
    # encoders may add or drop a few samples at the ends
    y = y[: len(waveform)]
    return np.pad(y, (0, len(waveform) - len(y)))


class Codec(BaseWaveformTransform):
    """Round trip through a lossy speech codec (libsndfile), per sample

    Speech from the wild reaches us through codecs: broadcast and web audio (Opus, MP3),
    telephone lines (GSM 6.10, 8-bit mu-law at 8 kHz). Each selected sample is encoded and
    decoded with a codec drawn from `codecs` (weighted as in :data:`CODECS`), at a
    compression level drawn from the codec's range.

    Parameters
    ----------
    p : float, optional
        Probability of applying the transform to each sample. Defaults to 0.15.
    codecs : list of str, optional
        Keys of :data:`CODECS`. Defaults to all.
    """

    supported_modes = {"per_example"}
    supports_multichannel = True
    requires_sample_rate = True

    def __init__(
        self,
        p: float = 0.15,
        codecs: Optional[Sequence[str]] = None,
        sample_rate: int = SAMPLE_RATE,
        output_type: str = "dict",
    ):
        super().__init__(mode="per_example", p=p, sample_rate=sample_rate, output_type=output_type)
        self.codecs = list(CODECS) if codecs is None else list(codecs)
        unknown = [c for c in self.codecs if c not in CODECS]
        if unknown or not self.codecs:
            raise ValueError(f"unknown codec(s) {unknown}: choose among {sorted(CODECS)}.")

    def randomize_parameters(self, samples: Tensor = None, sample_rate=None, targets=None, target_rate=None):
        batch_size = samples.shape[0]
        weights = [CODECS[c][4] for c in self.codecs]
        chosen = random.choices(self.codecs, weights=weights, k=batch_size)
        self.transform_parameters["codec"] = chosen
        self.transform_parameters["level"] = [
            random.uniform(*CODECS[c][3]) if CODECS[c][3] is not None else 0.0 for c in chosen
        ]

    def apply_transform(self, samples: Tensor = None, sample_rate=None, targets=None, target_rate=None):
        sample_rate = sample_rate or self.sample_rate
        output = samples.clone()
        for b, (codec, level) in enumerate(zip(self.transform_parameters["codec"], self.transform_parameters["level"])):
            for c in range(samples.shape[1]):
                decoded = codec_round_trip(samples[b, c].detach().cpu().numpy(), codec, level, sample_rate)
                output[b, c] = torch.from_numpy(decoded).to(samples.device, samples.dtype)
        return ObjectDict(samples=output, sample_rate=sample_rate, targets=targets, target_rate=target_rate)


def noise_and_gain(
    min_gain_in_db: float = -12.0,
    max_gain_in_db: float = 6.0,
    min_snr_in_db: float = 5.0,
    max_snr_in_db: float = 30.0,
    p: float = 0.5,
) -> BaseWaveformTransform:
    """Random gain then coloured noise (torch-audiomentations)

    Parameters
    ----------
    min_gain_in_db, max_gain_in_db : float, optional
        Gain range. Defaults to [-12, 6] dB.
    min_snr_in_db, max_snr_in_db : float, optional
        Signal-to-noise ratio range of the added noise. Defaults to [5, 30] dB.
    p : float, optional
        Probability of applying each transform. Defaults to 0.5.

    Returns
    -------
    augmentation : BaseWaveformTransform
        To be passed as `augmentation` to `FileScopedSpeakerEmbedding`.
    """
    return real_world_augmentation(
        p_noise=0.0,
        p_reverb=0.0,
        p_band_limit=0.0,
        p_gain=p,
        min_gain_in_db=min_gain_in_db,
        max_gain_in_db=max_gain_in_db,
        p_colored_noise=p,
        min_colored_snr_in_db=min_snr_in_db,
        max_colored_snr_in_db=max_snr_in_db,
    )


def real_world_augmentation(
    noise=None,
    rir=None,
    num_simulated_rooms: int = 200,
    p_noise: float = 0.6,
    min_snr_in_db: float = 0.0,
    max_snr_in_db: float = 20.0,
    p_reverb: float = 0.3,
    p_band_limit: float = 0.1,
    p_gain: float = 0.5,
    min_gain_in_db: float = -12.0,
    max_gain_in_db: float = 6.0,
    p_colored_noise: float = 0.1,
    min_colored_snr_in_db: float = 5.0,
    max_colored_snr_in_db: float = 30.0,
    seed: int = 0,
    p_codec: float = 0.0,
) -> Compose:
    """Reverberation, real noise, band-limiting, gain, coloured noise, codec (in that order)

    Parameters
    ----------
    noise : str, Path or list, optional
        Real noise files or folders (``../shared/data/noise/noise``); held-out noises
        are left out. No real noise without it.
    rir : str, Path or list, optional
        Measured impulse responses (``../shared/data/noise/rir``), used besides
        `num_simulated_rooms` simulated ones.
    p_* : float, optional
        Probability of each transform, per sample (0 leaves it out).
    min_snr_in_db, max_snr_in_db : float, optional
        SNR range of the real noise. Defaults to [0, 20] dB.
    min_gain_in_db, max_gain_in_db : float, optional
        Gain range. Defaults to [-12, 6] dB.
    min_colored_snr_in_db, max_colored_snr_in_db : float, optional
        SNR range of the coloured noise. Defaults to [5, 30] dB.
    seed : int, optional
        Seed of the simulated rooms.
    p_codec : float, optional
        Probability of a lossy codec round trip (:class:`Codec`), last, as a recording
        is coded after it is made. Defaults to 0.

    Returns
    -------
    augmentation : Compose
        torch-audiomentations transform, for a pyannote.audio task's `augmentation`.
    """
    transforms: List[BaseWaveformTransform] = []
    if p_reverb > 0 and (rir or num_simulated_rooms > 0):
        transforms.append(Reverberation(rir, num_simulated_rooms=num_simulated_rooms, p=p_reverb, seed=seed))
    if p_noise > 0 and noise:
        transforms.append(BackgroundNoise(noise, min_snr_in_db=min_snr_in_db, max_snr_in_db=max_snr_in_db, p=p_noise))
    if p_band_limit > 0:
        # 8 kHz telephone band (3.4 kHz) up to a dull 7 kHz microphone
        transforms.append(
            LowPassFilter(min_cutoff_freq=3400.0, max_cutoff_freq=7000.0, p=p_band_limit, sample_rate=SAMPLE_RATE, output_type="dict")
        )
    if p_gain > 0:
        transforms.append(Gain(min_gain_in_db=min_gain_in_db, max_gain_in_db=max_gain_in_db, p=p_gain, output_type="dict"))
    if p_colored_noise > 0:
        transforms.append(
            AddColoredNoise(
                min_snr_in_db=min_colored_snr_in_db,
                max_snr_in_db=max_colored_snr_in_db,
                p=p_colored_noise,
                sample_rate=SAMPLE_RATE,
                output_type="dict",
            )
        )
    if p_codec > 0:
        transforms.append(Codec(p=p_codec))
    return Compose(transforms, shuffle=False, output_type="dict")

"""Simulated VoxConverse-like conversations from single-speaker utterances.

The simulator is split by concept:

- :mod:`.sources`: single-speaker source material (utterances, their speech regions
  from a frame-energy detector, :func:`energy_vad`), the shipped LibriSpeech cuts
  (:func:`load_sources`) or the full ReadSpeech corpora (:func:`readspeech_sources`);
- :mod:`.turns`: turn-taking (who speaks when, pauses, overlap, turn lengths);
- :mod:`.acoustics`: room acoustics and channel (reverberation, band-limiting);
- :mod:`.mixing`: levels, background noise, noise-only stretches;
- :mod:`.config`: :class:`SimulationConfig`, with a VoxConverse-like preset
  (:meth:`SimulationConfig.voxconverse`: log-normal turns of median 3.84 s, 42 %
  same-speaker turns, real noise, noise-only stretches, reverberation, band-limiting).

**Exact labels.** Crops are trimmed to their first / last speech frame and only their
speech regions are written to the RTTM: leading, trailing and long internal silences,
reverberation tails and noise-only stretches are never labelled as speech. Speakers are
labelled ``spk00``, ``spk01``... in order of first appearance within each file, like
VoxConverse. Everything is deterministic for a given seed (the default configuration
draws exactly what the Mini corpus was built with); placement is vectorised, so a
60-minute recording builds in a few seconds.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from pyannote.core import Annotation, Segment

from ..convention import bridge_pauses
from ...core.io import SAMPLE_RATE, save_audio
from .acoustics import band_limit, impulse_responses, reverberate
from .config import (
    VOXCONVERSE_NUM_SPEAKERS,
    VOXCONVERSE_SAME_SPEAKER,
    VOXCONVERSE_TURN_MEDIAN,
    VOXCONVERSE_TURN_SIGMA,
    SimulationConfig,
)
from .mixing import add_background_noise, add_noise_only, normalise_peak, turn_gains
from .sources import LIBRISPEECH_DIR, Source, energy_vad, load_sources, read_speakers_sex, readspeech_sources
from .turns import MIN_FRAGMENT, noise_only_stretches, place_turns, sample_num_speakers

__all__ = [
    "LIBRISPEECH_DIR",
    "VOXCONVERSE_NUM_SPEAKERS",
    "VOXCONVERSE_TURN_MEDIAN",
    "VOXCONVERSE_TURN_SIGMA",
    "VOXCONVERSE_SAME_SPEAKER",
    "MIN_FRAGMENT",
    "Source",
    "SimulationConfig",
    "Recording",
    "energy_vad",
    "read_speakers_sex",
    "load_sources",
    "readspeech_sources",
    "sample_num_speakers",
    "simulate_recording",
    "simulate_recordings",
    "rttm_lines",
    "uem_line",
    "write_recordings",
]


@dataclass
class Recording:
    """A simulated recording.

    Attributes
    ----------
    uri : str
    waveform : (num_samples, ) np.ndarray
        Float32 mixture at :data:`~pyannote_resnet50.core.io.SAMPLE_RATE`.
    annotation : Annotation
        Exact speech regions, labels ``spk00``, ``spk01``... local to the file.
    speakers : dict
        Local label -> source speaker id (LibriSpeech reader).
    snr : float
        Signal-to-noise ratio of the background noise, in dB.
    """

    uri: str
    waveform: np.ndarray = field(repr=False)
    annotation: Annotation = field(repr=False)
    speakers: Dict[str, str]
    snr: float

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return len(self.waveform) / SAMPLE_RATE


def simulate_recording(
    uri: str,
    sources: Sequence[Source],
    duration: float,
    seed: Union[int, Sequence[int], np.random.SeedSequence] = 0,
    config: SimulationConfig = SimulationConfig(),
) -> Recording:
    """Simulate one conversation between the speakers of `sources`.

    Parameters
    ----------
    uri : str
        Name of the recording.
    sources : sequence of Source
        One source per speaker of the recording (e.g. from :func:`load_sources`).
    duration : float
        Duration of the recording, in seconds (exact). Turns are placed until the end
        of the recording; the last one is cut ``config.tail`` seconds before it.
    seed : int, sequence of int or SeedSequence, optional
        Random seed: the same seed (and sources) gives the same recording.
    config : SimulationConfig, optional

    Returns
    -------
    recording : Recording
    """
    if len(sources) == 0:
        raise ValueError("simulate_recording needs at least one source.")
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(sequence)
    # the realistic options draw from their own generators: the default configuration
    # draws exactly the same numbers as before they existed (the Mini corpus)
    extra = [np.random.default_rng(child) for child in np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, 7919)).spawn(4)]
    noise_only_rng, room_rng, noise_rng, channel_rng = extra
    sr = SAMPLE_RATE
    num_samples = int(round(duration * sr))
    num_speakers = len(sources)

    speaker, turns = place_turns(rng, sources, num_samples, config, noise_only_rng=noise_only_rng)
    gain = turn_gains(rng, speaker, num_speakers, config)
    responses = None
    if config.reverberation > 0 and room_rng.random() < config.reverberation:
        responses = impulse_responses(room_rng, num_speakers, config.rir)

    # local labels by order of first appearance
    appearance = list(dict.fromkeys(int(speaker[t]) for t, _, _ in turns))
    labels = {s: f"spk{k:02d}" for k, s in enumerate(appearance)}

    waveform = np.zeros(num_samples, dtype=np.float32)
    mask = np.zeros(num_samples, dtype=bool)
    annotation = Annotation(uri=uri)
    for t, offset, (first, last, regions) in turns:
        s = speaker[t]
        turn = gain[t] * sources[s].waveform[first:last]
        if responses is not None:
            turn = reverberate(turn, responses[s])[: num_samples - offset]
        waveform[offset : offset + len(turn)] += turn
        for a, b in regions + offset:
            mask[a:b] = True
            annotation[Segment(a / sr, b / sr), len(annotation)] = labels[s]

    speech_power = float(np.mean(waveform[mask].astype(np.float64) ** 2)) if mask.any() else 0.0025
    snr = add_background_noise(rng, noise_rng, waveform, speech_power, config)
    if config.noise_only > 0 and config.noise:
        first = turns[0][1] if turns else num_samples
        stretches = noise_only_stretches(mask, first, config.noise_only_duration[0])
        add_noise_only(noise_only_rng, waveform, stretches, speech_power, config.noise, config)
    if config.band_limit > 0 and channel_rng.random() < config.band_limit:
        waveform = band_limit(channel_rng, waveform)
    normalise_peak(waveform)

    if config.bridge > 0:
        annotation = bridge_pauses(annotation, config.bridge)
    annotation = annotation.rename_tracks(generator="string")
    speakers = {labels[s]: sources[s].speaker for s in appearance}
    return Recording(uri=uri, waveform=waveform, annotation=annotation, speakers=speakers, snr=snr)


def simulate_recordings(
    sources: Sequence[Source],
    num_files: int,
    seed: Sequence[int] = (0,),
    duration: Tuple[float, float] = (30.0, 90.0),
    num_speakers: Optional[Tuple[int, int]] = None,
    config: SimulationConfig = SimulationConfig(),
    overlap_shape: Optional[float] = None,
    prefix: str = "sim",
) -> Iterator[Recording]:
    """Simulate `num_files` recordings of speakers drawn from `sources` (a generator).

    Parameters
    ----------
    sources : sequence of Source
        Pool of speakers; the speakers of a recording are drawn without replacement.
    num_files : int
    seed : sequence of int, optional
        Recording ``i`` uses the seed ``[*seed, i]``.
    duration : (float, float), optional
        Duration range in seconds (uniform; rounded to 10 ms). Defaults to 30 to 90 s.
    num_speakers : (int, int), optional
        Range of the number of speakers (uniform, bounds included). Defaults to
        :data:`VOXCONVERSE_NUM_SPEAKERS` (capped by the size of the pool).
    config : SimulationConfig, optional
    overlap_shape : float, optional
        When given, the overlap share of each recording is drawn from a gamma
        distribution of this shape and mean ``config.overlap`` (capped at 20 %).
        Defaults to ``config.overlap`` for every recording.
    prefix : str, optional
        Recording ``i`` is named ``{prefix}{i:03d}``.

    Yields
    ------
    recording : Recording
    """
    for i in range(num_files):
        sequence = np.random.SeedSequence([*seed, i])
        rng = np.random.default_rng(sequence.spawn(1)[0])
        if num_speakers is None:
            n = int(sample_num_speakers(rng))
        else:
            n = int(rng.integers(num_speakers[0], num_speakers[1] + 1))
        n = min(n, len(sources))
        chosen = [sources[k] for k in sorted(rng.choice(len(sources), size=n, replace=False))]
        length = round(float(rng.uniform(*duration)), 2)
        recording_config = config
        if overlap_shape is not None:
            overlap = min(float(rng.gamma(overlap_shape, config.overlap / overlap_shape)), 0.2)
            recording_config = dataclasses.replace(config, overlap=overlap)
        yield simulate_recording(f"{prefix}{i:03d}", chosen, length, seed=sequence, config=recording_config)


def rttm_lines(annotation: Annotation) -> List[str]:
    """RTTM lines of `annotation` (times in seconds, 3 decimals, sorted by time)."""
    return [
        f"SPEAKER {annotation.uri} 1 {segment.start:.3f} {segment.duration:.3f} <NA> <NA> {label} <NA> <NA>"
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]


def uem_line(uri: str, duration: float) -> str:
    """UEM line of a file evaluated on [0, duration] (VoxConverse style)."""
    return f"{uri} NA 0.000 {duration:.3f}"


def _write_text(path: Path, lines: Sequence[str]) -> Path:
    """Write `lines` (newline-terminated) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    tmp.replace(path)
    return path


def write_recordings(
    recordings: Iterable[Recording],
    output: Union[str, Path],
    name: str,
    write_audio: bool = True,
) -> Dict[str, Path]:
    """Write recordings as a pyannote.database subset.

    Parameters
    ----------
    recordings : iterable of Recording
        Consumed one at a time (a generator keeps memory low).
    output : str or Path
        Folder receiving ``{name}.lst``, ``{name}.rttm``, ``{name}.uem`` and
        ``wav/{uri}.wav``.
    name : str
        Subset name.
    write_audio : bool, optional
        Set to False to only write the annotation files. Defaults to True.

    Returns
    -------
    paths : dict
        "lst", "rttm", "uem" -> written path.
    """
    output = Path(output)
    uris, rttm, uem = [], [], []
    for recording in recordings:
        if write_audio:
            wav = output / "wav" / f"{recording.uri}.wav"
            tmp = wav.with_name(f".{wav.stem}.tmp.wav")
            save_audio(tmp, recording.waveform)
            tmp.replace(wav)
        uris.append(recording.uri)
        rttm.extend(rttm_lines(recording.annotation))
        uem.append(uem_line(recording.uri, recording.duration))
    return {
        "lst": _write_text(output / f"{name}.lst", uris),
        "rttm": _write_text(output / f"{name}.rttm", rttm),
        "uem": _write_text(output / f"{name}.uem", uem),
    }

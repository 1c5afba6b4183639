"""Simulated VoxConverse-like conversations from single-speaker utterances.

The recipe follows the simulated mixtures of EEND (Fujita et al., "End-to-end neural
speaker diarization with permutation-free objectives", Interspeech 2019): utterances
of the speakers of a recording are placed one after the other, separated by
exponentially distributed pauses; overlapped speech comes from *negative* pauses
(the next turn starts before the previous one ends). On top of this:

- **Turns are random crops.** Each LibriSpeech source (``data/librispeech``) is one
  utterance of about 6 s per speaker, so a turn is a random crop of 1 to 6 s of its
  speaker's utterance (``min_turn`` / ``max_turn``), trimmed to speech. A speaker
  talking many times in a recording says (parts of) the same sentence again: the
  *voice* is real, the conversation is not.
- **Exact labels.** A frame-energy voice activity detector (:func:`energy_vad`, 25 ms
  frames every 10 ms, threshold relative to the loud frames of the utterance, pauses
  shorter than ``min_silence`` bridged) gives the speech regions of each source. Crops
  are trimmed to their first / last speech frame and only their speech regions are
  written to the RTTM, so leading, trailing and long internal silences are never
  labelled as speech.
- **Controlled overlap.** The share of overlapped speech (``overlap``, default 4 %,
  VoxConverse has 3 to 4 %) is a budget of overlapped seconds spread over randomly
  chosen speaker changes; each overlap is at most half of both turns involved, so at
  most two speakers talk at once and a speaker never overlaps itself.
- **Levels and noise.** Each source is normalised to the same speech RMS, then gets a
  per-speaker gain (uniform in +-``speaker_gain_db``) and a per-turn gain (uniform in
  +-``turn_gain_db``). Background noise is Gaussian noise coloured by a one-pole
  low-pass filter of random coefficient (a random spectral tilt, from white to almost
  brown), added at a signal-to-noise ratio (speech power over noise power) drawn in
  ``snr``. No external noise corpus is used.
- **File-scoped labels.** Speakers are labelled ``spk00``, ``spk01``... in order of
  first appearance within each file, like VoxConverse.

Everything is deterministic for a given seed. Placement is vectorised (cumulative sums
of turn durations and pauses), so a 60-minute recording builds in a few seconds.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from pyannote.core import Annotation, Segment
from scipy.signal import lfilter

from ..core.io import SAMPLE_RATE, load_audio, save_audio
from .registry import DATA_DIR

LIBRISPEECH_DIR = DATA_DIR / "librispeech"

#: share of VoxConverse dev files with 1, 2, ... 6 speakers (files with more than 6
#: speakers counted as 6): 22, 44, 35, 24, 31 and 60 of 216 files.
VOXCONVERSE_NUM_SPEAKERS = {1: 22, 2: 44, 3: 35, 4: 24, 5: 31, 6: 60}

__all__ = [
    "LIBRISPEECH_DIR",
    "VOXCONVERSE_NUM_SPEAKERS",
    "Source",
    "SimulationConfig",
    "Recording",
    "energy_vad",
    "read_speakers_sex",
    "load_sources",
    "sample_num_speakers",
    "simulate_recording",
    "rttm_lines",
    "uem_line",
    "write_recordings",
]


@dataclass(frozen=True)
class Source:
    """One single-speaker utterance and its speech regions.

    Attributes
    ----------
    speaker : str
        Speaker identifier (LibriSpeech reader id).
    sex : str
        "F", "M" or "?" when unknown.
    waveform : (num_samples, ) np.ndarray
        Float32 waveform, 16 kHz, normalised to a speech RMS of 0.05 (-26 dBFS).
    speech : (num_regions, 2) np.ndarray
        Start and end sample of each speech region (end excluded), from :func:`energy_vad`.
    """

    speaker: str
    sex: str
    waveform: np.ndarray = field(repr=False)
    speech: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of :func:`simulate_recording`.

    Attributes
    ----------
    overlap : float
        Target share of overlapped speech (overlapped speech / total speech). Default 0.04.
    mean_pause : float
        Mean of the exponentially distributed pauses between turns, in seconds. Default 0.4.
    min_turn, max_turn : float
        Crop length of a turn is uniform in [min_turn, max_turn] seconds (before trimming
        to speech; never longer than the speech of the source). Defaults to 1 and 6.
    min_overlap, max_overlap : float
        Length of one overlap, uniform in this range (seconds), capped at half of each
        of the two turns. Defaults to 0.3 and 2.
    same_speaker : float
        Probability that a turn is followed by another turn of the same speaker (after
        a pause). Default 0.1.
    dominance : float
        Concentration of the Dirichlet distribution of speaker shares: small values
        give a few dominant speakers. Default 1.5.
    speaker_gain_db, turn_gain_db : float
        Gains uniform in +-speaker_gain_db per speaker and +-turn_gain_db per turn.
        Defaults to 6 and 2 dB.
    snr : (float, float)
        Signal-to-noise ratio range in dB, drawn uniformly per recording. A single value
        is given as (snr, snr). Defaults to (10, 30).
    tail : float
        Minimum silence at the end of a recording, seconds. Default 0.5.
    """

    overlap: float = 0.04
    mean_pause: float = 0.4
    min_turn: float = 1.0
    max_turn: float = 6.0
    min_overlap: float = 0.3
    max_overlap: float = 2.0
    same_speaker: float = 0.1
    dominance: float = 1.5
    speaker_gain_db: float = 6.0
    turn_gain_db: float = 2.0
    snr: Tuple[float, float] = (10.0, 30.0)
    tail: float = 0.5


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


def energy_vad(
    waveform: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    threshold_db: float = 30.0,
    relative: float = 0.35,
    frame: float = 0.025,
    hop: float = 0.010,
    min_silence: float = 0.2,
    min_speech: float = 0.05,
) -> np.ndarray:
    """Frame-energy voice activity detection of a clean single-speaker utterance.

    Parameters
    ----------
    waveform : (num_samples, ) np.ndarray
    sample_rate : int, optional
    threshold_db : float, optional
        A frame is speech when its energy is at most `threshold_db` below the loud
        frames (95th percentile of frame energies in dB). Defaults to 30 dB.
    relative : float, optional
        ... and above the noise floor (5th percentile) by at least `relative` times the
        floor-to-loud range, which matters for noisy sources. Defaults to 0.35.
    frame, hop : float, optional
        Frame length and hop, in seconds. Default to 25 and 10 ms.
    min_silence : float, optional
        Pauses shorter than this (seconds) are bridged. Defaults to 0.2.
    min_speech : float, optional
        Speech regions shorter than this (seconds) are dropped. Defaults to 0.05.

    Returns
    -------
    speech : (num_regions, 2) np.ndarray
        Start and end sample (end excluded) of each speech region, sorted.
    """
    win, step = int(frame * sample_rate), int(hop * sample_rate)
    if len(waveform) < win:
        return np.zeros((0, 2), dtype=np.int64)
    frames = np.lib.stride_tricks.sliding_window_view(waveform, win)[::step]
    energy = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    floor, loud = np.percentile(energy, [5, 95])
    active = energy > max(loud - threshold_db, floor + relative * (loud - floor))
    # runs of active frames -> [first frame, last frame + 1)
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    # frame runs -> samples: a run covers the whole windows of its frames
    regions = np.stack([starts * step, (ends - 1) * step + win], axis=1).astype(np.int64)
    if len(regions) == 0:
        return regions
    # bridge short pauses
    gaps = regions[1:, 0] - regions[:-1, 1]
    keep = np.concatenate([[True], gaps >= min_silence * sample_rate])
    merged = np.stack(
        [regions[keep, 0], np.maximum.reduceat(regions[:, 1], np.flatnonzero(keep))], axis=1
    )
    long_enough = (merged[:, 1] - merged[:, 0]) >= min_speech * sample_rate
    return merged[long_enough]


def read_speakers_sex(path: Union[str, Path] = LIBRISPEECH_DIR / "SPEAKERS.TXT") -> Dict[str, str]:
    """Sex of each reader of LibriSpeech's SPEAKERS.TXT ({reader id: "F" or "M"})."""
    sex = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith(";") or "|" not in line:
            continue
        fields = [f.strip() for f in line.split("|")]
        sex[fields[0]] = fields[1]
    return sex


@lru_cache(maxsize=4)
def _load_sources(directory: str) -> Tuple[Source, ...]:
    directory = Path(directory)
    sex = read_speakers_sex(directory / "SPEAKERS.TXT") if (directory / "SPEAKERS.TXT").is_file() else {}
    sources = []
    for path in sorted(directory.glob("*.flac")) + sorted(directory.glob("*.wav")):
        speaker = path.stem.split("-")[0]
        waveform = load_audio(path)
        speech = energy_vad(waveform)
        if len(speech) == 0:
            continue
        mask = np.zeros(len(waveform), dtype=bool)
        for start, end in speech:
            mask[start:end] = True
        rms = np.sqrt(np.mean(waveform[mask].astype(np.float64) ** 2))
        waveform = (waveform * (0.05 / max(rms, 1e-6))).astype(np.float32)
        waveform.setflags(write=False)
        speech.setflags(write=False)
        sources.append(Source(speaker, sex.get(speaker, "?"), waveform, speech))
    return tuple(sources)


def load_sources(
    directory: Union[str, Path] = LIBRISPEECH_DIR, speakers: Optional[Iterable[str]] = None
) -> List[Source]:
    """Load single-speaker utterances (``SPEAKER-*.flac`` or ``.wav``) and their speech regions.

    Parameters
    ----------
    directory : str or Path, optional
        Folder of utterances named ``{speaker}-...``, with an optional LibriSpeech-style
        ``SPEAKERS.TXT``. Defaults to the LibriSpeech utterances shipped in the package.
    speakers : iterable of str, optional
        Only keep these speakers. Defaults to all.

    Returns
    -------
    sources : list of Source
        Sorted by file name; loaded once per folder (cached).
    """
    sources = _load_sources(str(Path(directory).resolve()))
    if speakers is None:
        return list(sources)
    wanted = set(map(str, speakers))
    missing = wanted - {s.speaker for s in sources}
    if missing:
        raise ValueError(f"no utterance of speaker(s) {sorted(missing)} in '{directory}'.")
    return [s for s in sources if s.speaker in wanted]


def sample_num_speakers(
    rng: np.random.Generator, size: Optional[int] = None, distribution: Mapping[int, float] = None
):
    """Draw numbers of speakers per recording (default: VoxConverse dev, capped at 6)."""
    distribution = distribution or VOXCONVERSE_NUM_SPEAKERS
    values = np.array(sorted(distribution))
    p = np.array([distribution[v] for v in values], dtype=float)
    return rng.choice(values, size=size, p=p / p.sum())


def _speaker_sequence(rng: np.random.Generator, num_speakers: int, num_turns: int, config: SimulationConfig):
    """Speaker index of each turn: all speakers first (random order), then weighted turn-taking."""
    sequence = list(rng.permutation(num_speakers)[:num_turns])
    if num_speakers == 1:
        return np.zeros(num_turns, dtype=np.int64)
    weights = rng.dirichlet(np.full(num_speakers, config.dominance))
    same = rng.random(num_turns) < config.same_speaker
    draws = rng.random(num_turns)
    for t in range(len(sequence), num_turns):
        previous = sequence[-1]
        if same[t]:
            sequence.append(previous)
            continue
        p = weights.copy()
        p[previous] = 0.0
        cdf = np.cumsum(p / p.sum())
        sequence.append(min(int(np.searchsorted(cdf, draws[t], side="right")), num_speakers - 1))
    return np.asarray(sequence, dtype=np.int64)


def _crop(rng: np.random.Generator, source: Source, config: SimulationConfig):
    """Random crop of `source` trimmed to speech: (first sample, last sample, speech regions relative to first)."""
    lo, hi = int(source.speech[0, 0]), int(source.speech[-1, 1])
    for _ in range(10):
        length = min(int(rng.uniform(config.min_turn, config.max_turn) * SAMPLE_RATE), hi - lo)
        start = lo + int(rng.integers(0, hi - lo - length + 1))
        end = start + length
        regions = np.clip(source.speech, start, end)
        regions = regions[regions[:, 1] - regions[:, 0] > 0]
        if len(regions):
            return int(regions[0, 0]), int(regions[-1, 1]), regions - regions[0, 0]
    # a crop falling in a long pause 10 times in a row: take the whole utterance
    return lo, hi, source.speech - lo


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
        One utterance per speaker of the recording (e.g. from :func:`load_sources`).
    duration : float
        Duration of the recording, in seconds (exact). Turns are placed until the end
        of the recording; turns that would end less than ``config.tail`` before it are
        dropped.
    seed : int, sequence of int or SeedSequence, optional
        Random seed: the same seed (and sources) gives the same recording.
    config : SimulationConfig, optional

    Returns
    -------
    recording : Recording
    """
    rng = np.random.default_rng(seed)
    sr = SAMPLE_RATE
    num_samples = int(round(duration * sr))
    num_speakers = len(sources)
    if num_speakers == 0:
        raise ValueError("simulate_recording needs at least one source.")

    # enough turns to fill the recording (shortest possible turn ~ min_turn / 2 + no pause)
    mean_turn = max(0.5 * (config.min_turn + config.max_turn), 0.5)
    num_turns = int(np.ceil(duration / (0.5 * mean_turn))) + num_speakers
    speaker = _speaker_sequence(rng, num_speakers, num_turns, config)
    crops = [_crop(rng, sources[s], config) for s in speaker]
    lengths = np.array([end - start for start, end, _ in crops], dtype=np.int64)

    # pauses (EEND): exponential silences, negative for overlapping speaker changes
    pauses = rng.exponential(config.mean_pause * sr, size=num_turns).astype(np.int64)
    change = np.flatnonzero(speaker[1:] != speaker[:-1]) + 1
    if config.overlap > 0 and len(change):
        # budget of overlapped seconds for the expected number of turns in the file
        expected = np.cumsum(lengths + pauses) <= num_samples
        speech = lengths[expected].sum()
        budget = config.overlap * speech / (1.0 + config.overlap)
        change = change[expected[change]]
        change = rng.permutation(change)
        amount = rng.uniform(config.min_overlap, config.max_overlap, size=len(change)) * sr
        amount = np.minimum(amount, 0.5 * np.minimum(lengths[change], lengths[change - 1])).astype(np.int64)
        used = np.cumsum(amount)
        n = int(np.searchsorted(used, budget))
        if n < len(change):
            amount[n] = int(budget - (used[n - 1] if n else 0))
            amount[n + 1 :] = 0
        pauses[change] = -amount
    pauses[0] = abs(pauses[0])
    starts = np.cumsum(pauses) + np.concatenate([[0], np.cumsum(lengths[:-1])])
    ends = starts + lengths
    keep = ends <= num_samples - int(config.tail * sr)
    keep &= np.cumsum(~keep) == 0  # stop at the first turn that does not fit

    # levels
    speaker_gain = rng.uniform(-config.speaker_gain_db, config.speaker_gain_db, size=num_speakers)
    turn_gain = rng.uniform(-config.turn_gain_db, config.turn_gain_db, size=num_turns)
    gain = (10.0 ** ((speaker_gain[speaker] + turn_gain) / 20.0)).astype(np.float32)

    # local labels by order of first appearance
    order = list(dict.fromkeys(speaker[keep].tolist()))
    labels = {s: f"spk{k:02d}" for k, s in enumerate(order)}

    waveform = np.zeros(num_samples, dtype=np.float32)
    mask = np.zeros(num_samples, dtype=bool)
    annotation = Annotation(uri=uri)
    for t in np.flatnonzero(keep):
        (first, last, regions), s, offset = crops[t], speaker[t], starts[t]
        waveform[offset : offset + last - first] += gain[t] * sources[s].waveform[first:last]
        for a, b in regions + offset:
            mask[a:b] = True
            annotation[Segment(a / sr, b / sr), len(annotation)] = labels[s]

    # coloured Gaussian background noise at the drawn SNR
    low, high = (config.snr, config.snr) if np.isscalar(config.snr) else config.snr
    snr = float(rng.uniform(low, high))
    tilt = float(rng.uniform(0.0, 0.98))
    noise = lfilter([1.0], [1.0, -tilt], rng.standard_normal(num_samples, dtype=np.float32)).astype(np.float32)
    noise /= np.sqrt(np.mean(noise.astype(np.float64) ** 2)) + 1e-12
    speech_power = float(np.mean(waveform[mask].astype(np.float64) ** 2)) if mask.any() else 0.0025
    waveform += noise * np.float32(np.sqrt(speech_power / 10.0 ** (snr / 10.0)))
    peak = float(np.max(np.abs(waveform))) if num_samples else 0.0
    if peak > 0.95:
        waveform *= np.float32(0.95 / peak)

    annotation = annotation.rename_tracks(generator="string")
    speakers = {labels[s]: sources[s].speaker for s in order}
    return Recording(uri=uri, waveform=waveform, annotation=annotation, speakers=speakers, snr=snr)


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

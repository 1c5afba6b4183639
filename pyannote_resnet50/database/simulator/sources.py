"""Single-speaker source material of the simulator: utterances and their speech regions."""

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from ...core.io import SAMPLE_RATE, load_audio
from ..registry import DATA_DIR

LIBRISPEECH_DIR = DATA_DIR / "librispeech"
#: speech RMS of every source after normalisation (-26 dBFS)
SOURCE_RMS = 0.05
#: silence inserted between the utterances of one speaker joined into one source
JOIN_SILENCE = 0.3

__all__ = [
    "LIBRISPEECH_DIR",
    "Source",
    "energy_vad",
    "read_speakers_sex",
    "read_speechocean_speakers",
    "load_sources",
    "readspeech_sources",
    "speechocean_utterances",
]


@dataclass(frozen=True)
class Source:
    """The speech of one speaker.

    Attributes
    ----------
    speaker : str
        Speaker identifier (LibriSpeech reader id, or ``LS{reader}`` / ``SO{speaker}``
        for :func:`readspeech_sources`).
    sex : str
        "F", "M" or "?" when unknown.
    waveform : (num_samples, ) np.ndarray
        Float32 waveform, 16 kHz, normalised to a speech RMS of 0.05 (-26 dBFS). The
        utterances of a speaker with several are joined, 0.3 s of silence apart.
    speech : (num_regions, 2) np.ndarray
        Start and end sample of each speech region (end excluded), from :func:`energy_vad`.
    """

    speaker: str
    sex: str
    waveform: np.ndarray = field(repr=False)
    speech: np.ndarray = field(repr=False)


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


def read_speechocean_speakers(path: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """Rows of speechocean762's speakers.tsv ({speaker: {"gender": ..., "age": ...}})."""
    with open(path, newline="") as f:
        return {row["speaker"]: row for row in csv.DictReader(f, delimiter="\t")}


def speechocean_utterances(folder: Union[str, Path], speaker: str) -> List[Path]:
    """Utterances of one speechocean762 speaker, sorted (``{speaker}/*.opus``, ``.flac`` or ``.wav``).

    The shared copy holds Ogg Opus files; OpenSLR's release holds ``WAVE/SPEAKER{id}/*.WAV``
    (point `folder` at ``WAVE`` and name speakers ``SPEAKER{id}`` there).
    """
    folder = Path(folder) / speaker
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in {".opus", ".flac", ".wav"})


def _source(speaker: str, sex: str, waveforms: List[np.ndarray]) -> Optional[Source]:
    """Join the utterances of one speaker, find their speech, normalise its level."""
    gap = np.zeros(int(JOIN_SILENCE * SAMPLE_RATE), dtype=np.float32)
    pieces, regions, offset = [], [], 0
    for waveform in waveforms:
        speech = energy_vad(waveform)
        if len(speech) == 0:
            continue
        pieces.extend([waveform, gap])
        regions.append(speech + offset)
        offset += len(waveform) + len(gap)
    if not pieces:
        return None
    waveform = np.concatenate(pieces[:-1])
    speech = np.concatenate(regions)
    mask = np.zeros(len(waveform), dtype=bool)
    for start, end in speech:
        mask[start:end] = True
    rms = np.sqrt(np.mean(waveform[mask].astype(np.float64) ** 2))
    waveform = (waveform * (SOURCE_RMS / max(rms, 1e-6))).astype(np.float32)
    waveform.setflags(write=False)
    speech.setflags(write=False)
    return Source(speaker, sex, waveform, speech)


@lru_cache(maxsize=4)
def _load_sources(directory: str) -> Tuple[Source, ...]:
    directory = Path(directory)
    sex = read_speakers_sex(directory / "SPEAKERS.TXT") if (directory / "SPEAKERS.TXT").is_file() else {}
    sources = []
    for path in sorted(directory.glob("*.flac")) + sorted(directory.glob("*.wav")):
        speaker = path.stem.split("-")[0]
        source = _source(speaker, sex.get(speaker, "?"), [load_audio(path)])
        if source is not None:
            sources.append(source)
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


#: folder of each corpus of the Voices identities (their two-letter prefix) in the shared data
CORPUS_FOLDERS = {"LS": "librispeech", "SO": "speechocean762", "CV": "commonvoice", "AR": "arabic-speech-commands"}


@lru_cache(maxsize=4)
def _voices_paths(shared: str) -> Dict[str, Tuple[Tuple[Path, ...], str]]:
    """{identity: (audio paths, sex)} of the Common Voice (``CV``) and Arabic (``AR``) speakers of `shared`."""
    from ..commonvoice import read_commonvoice

    shared = Path(shared)
    paths: Dict[str, List[Path]] = {}
    sex: Dict[str, str] = {}
    root = shared / CORPUS_FOLDERS["CV"]
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        for clip in read_commonvoice(folder):
            paths.setdefault(f"CV{clip.speaker}", []).append(clip.path)
            if clip.gender in ("female", "male") and f"CV{clip.speaker}" not in sex:
                sex[f"CV{clip.speaker}"] = clip.gender[0].upper()
    tsv = shared / CORPUS_FOLDERS["AR"] / "utterances.tsv"
    if tsv.is_file():
        with open(tsv, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                paths.setdefault(f"AR{row['speaker']}", []).append(tsv.parent / row["path"])
    return {identity: (tuple(sorted(p)), sex.get(identity, "?")) for identity, p in paths.items()}


def readspeech_sources(shared: Union[str, Path], speakers: Iterable[str]) -> List[Source]:
    """Sources of ReadSpeech and Voices speakers from the full corpora.

    Parameters
    ----------
    shared : str or Path
        Folder holding ``librispeech/{reader}-*.flac`` (with ``SPEAKERS.TXT``),
        ``speechocean762/{speaker}/*.{opus,flac,wav}`` (with ``speakers.tsv``),
        ``commonvoice/{locale}/`` (:func:`~pyannote_resnet50.database.commonvoice.read_commonvoice`)
        and ``arabic-speech-commands/`` (with ``utterances.tsv``), e.g. ``../shared/data``.
    speakers : iterable of str
        Identities of the ReadSpeech or Voices protocols (``LS{reader}``,
        ``SO{speaker}``, ``CV{speaker}``, ``AR{speaker}``), e.g. the lines of
        ``pyannote_resnet50/data/voices/speakers.train.txt``. A speaker's utterances
        (20 for speechocean762, every clip for Common Voice) are joined into one source.

    Returns
    -------
    sources : list of Source
        In the order of `speakers`.
    """
    shared = Path(shared)
    if not shared.is_dir():
        raise FileNotFoundError(f"'{shared}' does not exist: give the folder holding librispeech/ and speechocean762/.")
    librispeech = shared / CORPUS_FOLDERS["LS"]
    sex = read_speakers_sex(librispeech / "SPEAKERS.TXT") if (librispeech / "SPEAKERS.TXT").is_file() else {}
    tsv = shared / CORPUS_FOLDERS["SO"] / "speakers.tsv"
    if tsv.is_file():
        sex.update({f"SO{speaker}": row["gender"][:1].upper() for speaker, row in read_speechocean_speakers(tsv).items()})
    sources = []
    for speaker in speakers:
        corpus, name = speaker[:2], speaker[2:]
        if corpus == "LS":
            paths = sorted(librispeech.glob(f"{name}-*.flac"))
        elif corpus == "SO":
            paths = speechocean_utterances(shared / CORPUS_FOLDERS["SO"], name)
        elif corpus in ("CV", "AR"):
            paths, sex[speaker] = _voices_paths(str(shared.resolve())).get(speaker, ((), "?"))
        else:
            raise ValueError(
                f"'{speaker}' is not a ReadSpeech or Voices identity (LS{{reader}}, SO{{speaker}}, CV{{speaker}}, AR{{speaker}})."
            )
        if not paths:
            raise FileNotFoundError(f"no audio of speaker {speaker} under '{shared}'.")
        source = _source(speaker, sex.get(name if corpus == "LS" else speaker, "?"), [load_audio(p) for p in paths])
        if source is not None:
            sources.append(source)
    return sources

"""The Mini corpus: simulated conversations of real LibriSpeech speakers.

``pyannote-resnet50 mini`` (:func:`build_mini`) splits the 251 LibriSpeech readers
shipped in ``data/librispeech`` into train / development / test speakers (60 / 20 / 20 %,
stratified by sex, disjoint), then simulates, per subset, VoxConverse-like recordings
with :mod:`pyannote_resnet50.database.simulator`:

- 60 / 15 / 15 recordings of 30 to 90 s (uniform), about 90 minutes in all;
- 1 to 6 speakers per recording, drawn from VoxConverse dev's distribution of speakers
  per file with files of more than 6 speakers counted as 6 (mean 3.8; VoxConverse's
  own mean is 4.5 with a long tail up to 20);
- overlapped speech drawn per recording from a gamma distribution of mean 4 % (shape
  1.5, capped at 20 %), SNR 10 to 30 dB, per-speaker and per-turn gains.

Speakers of a recording are drawn without replacement from the speakers of its subset,
so one speaker appears in several recordings of the same subset (never of another
subset). Labels are file-scoped (``spk00``...), as in VoxConverse.

**Labelling convention: VoxConverse's.** A speaker's pauses shorter than
:data:`~pyannote_resnet50.database.convention.VOXCONVERSE_BRIDGE` (0.9 s) that no one
else fills are speech in ``{subset}.rttm`` (``Mini.SpeakerDiarization.Simulated``), as
VoxConverse's annotators label them; ``precise/{subset}.rttm``
(``Mini.SpeakerDiarization.Precise``) keeps the simulator's exact speech regions (every
pause of 0.2 s or more unlabelled), Mini's references before the relabelling. The audio
is the same.

Written under ``data/mini/``: ``{subset}.{lst,rttm,uem}``, ``precise/{subset}.rttm`` (committed),
``speakers.{subset}.txt`` (LibriSpeech reader ids, committed, to audit disjointness),
``sources.{subset}.txt`` (uri, local label, reader id, tab-separated; committed) and
``wav/{uri}.wav`` (generated, git-ignored). Everything derives from the seed: building
twice gives identical files.
"""

import dataclasses
import functools
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Union

import numpy as np

from .convention import VOXCONVERSE_BRIDGE, bridge_pauses
from .registry import DATA_DIR
from .simulator import (
    LIBRISPEECH_DIR,
    Recording,
    SimulationConfig,
    _write_text,
    load_sources,
    rttm_lines,
    read_speakers_sex,
    simulate_recordings,
)
from .simulator.corpus import audio_missing, write_corpus

MINI_DIR = DATA_DIR / "mini"
PROTOCOL = "Mini.SpeakerDiarization.Simulated"
SUBSETS = ("train", "development", "test")
#: uri prefix of each subset
PREFIX = {"train": "trn", "development": "dev", "test": "tst"}
#: share of speakers of each subset
SPEAKER_SPLIT = {"train": 0.6, "development": 0.2, "test": 0.2}
#: number of recordings of each subset
NUM_FILES = {"train": 60, "development": 15, "test": 15}
#: shape of the gamma distribution of the overlap share of a recording (mean: config.overlap)
OVERLAP_SHAPE = 1.5
#: bump when the audio of the simulator changes without changing the annotations
AUDIO_VERSION = 2

__all__ = [
    "MINI_DIR",
    "PROTOCOL",
    "SUBSETS",
    "NUM_FILES",
    "split_speakers",
    "simulate_subset",
    "build_mini",
    "write_reader_annotations",
    "mini_audio_missing",
]


def split_speakers(
    sex: Mapping[str, str], seed: int = 0, split: Mapping[str, float] = SPEAKER_SPLIT
) -> Dict[str, List[str]]:
    """Split speakers into disjoint subsets, stratified by sex.

    Parameters
    ----------
    sex : dict
        {speaker id: sex}.
    seed : int, optional
    split : dict, optional
        {subset: share of speakers}, in subset order. Defaults to 60 / 20 / 20 %.

    Returns
    -------
    speakers : dict
        {subset: sorted speaker ids}.
    """
    rng = np.random.default_rng(seed)
    subsets = list(split)
    shares = np.cumsum([split[s] for s in subsets])
    shares = shares / shares[-1]
    speakers = {subset: [] for subset in subsets}
    for stratum in sorted(set(sex.values())):
        group = sorted((s for s, x in sex.items() if x == stratum), key=lambda s: (len(s), s))
        group = [group[i] for i in rng.permutation(len(group))]
        bounds = np.concatenate([[0], np.round(shares * len(group)).astype(int)])
        for subset, lo, hi in zip(subsets, bounds[:-1], bounds[1:]):
            speakers[subset].extend(group[lo:hi])
    return {subset: sorted(ids, key=lambda s: (len(s), s)) for subset, ids in speakers.items()}


def simulate_subset(
    subset: str,
    speakers: List[str],
    num_files: int,
    seed: int = 0,
    min_duration: float = 30.0,
    max_duration: float = 90.0,
    config: SimulationConfig = SimulationConfig(bridge=0.0),
    librispeech: Union[str, Path] = LIBRISPEECH_DIR,
) -> Iterator[Recording]:
    """Simulate the recordings of one Mini subset (a generator, one recording at a time).

    Parameters
    ----------
    subset : str
        Subset name; its index in :data:`SUBSETS` (or 99) enters the seed.
    speakers : list of str
        Speakers of the subset.
    num_files : int
    seed : int, optional
    min_duration, max_duration : float, optional
        Durations are uniform in this range (seconds).
    config : SimulationConfig, optional
        ``config.overlap`` is the mean of the per-recording overlap share. Defaults to
        the default configuration without bridge (precise labels; :func:`build_mini`
        bridges them).
    librispeech : str or Path, optional
        Folder of the source utterances.

    Yields
    ------
    recording : Recording
        Named ``{prefix}{index:03d}`` (``trn000``, ``dev000``, ``tst000``...).
    """
    sources = load_sources(librispeech, speakers)
    index = SUBSETS.index(subset) if subset in SUBSETS else 99
    # overlap varies across files (VoxConverse: most files below 2 %, a few above 10 %)
    yield from simulate_recordings(
        sources,
        num_files,
        seed=(seed, index),
        duration=(min_duration, max_duration),
        config=config,
        overlap_shape=OVERLAP_SHAPE,
        prefix=PREFIX.get(subset, subset[:3]),
    )


def build_mini(
    output: Union[str, Path] = MINI_DIR,
    seed: int = 0,
    num_files: Optional[Mapping[str, int]] = None,
    write_audio: bool = True,
    librispeech: Union[str, Path] = LIBRISPEECH_DIR,
    progress: bool = False,
) -> Dict[str, Path]:
    """Build the Mini corpus (annotations, speaker lists and, optionally, audio).

    Parameters
    ----------
    output : str or Path, optional
        Defaults to the package's ``data/mini`` folder, the one ``database.yml`` uses.
    seed : int, optional
        Defaults to 0 (the committed corpus).
    num_files : dict, optional
        {subset: number of recordings}. Defaults to :data:`NUM_FILES`.
    write_audio : bool, optional
        Write ``wav/{uri}.wav``. Defaults to True.
    librispeech : str or Path, optional
        Folder of the source utterances (with SPEAKERS.TXT).
    progress : bool, optional
        Show a tqdm progress bar. Defaults to False.

    Returns
    -------
    written : dict
        {description: path} of every file written but the audio.
    """
    output = Path(output)
    num_files = dict(NUM_FILES, **(num_files or {}))
    sex = read_speakers_sex(Path(librispeech) / "SPEAKERS.TXT")
    available = {s.speaker for s in load_sources(librispeech)}
    speakers = split_speakers({s: x for s, x in sex.items() if s in available}, seed=seed)
    precise = {subset: [] for subset in SUBSETS}

    def relabel(subset: str, recording: Recording) -> Recording:
        # VoxConverse's convention (module docstring); the audio is unchanged
        precise[subset].extend(rttm_lines(recording.annotation))
        bridged = bridge_pauses(recording.annotation, VOXCONVERSE_BRIDGE).rename_tracks(generator="string")
        return dataclasses.replace(recording, annotation=bridged)

    subsets = {
        subset: functools.partial(
            simulate_subset, subset, speakers[subset], num_files[subset], seed=seed, librispeech=librispeech
        )
        for subset in SUBSETS
    }
    written = write_corpus(output, subsets, AUDIO_VERSION, write_audio=write_audio, transform=relabel,
                           progress="Mini" if progress else None, total=sum(num_files[s] for s in SUBSETS))
    for subset in SUBSETS:
        written[f"precise.{subset}"] = _write_text(output / "precise" / f"{subset}.rttm", precise[subset])
        written[f"speakers.{subset}"] = _write_text(output / f"speakers.{subset}.txt", speakers[subset])
        written[f"readers.{subset}"] = write_reader_annotations(output, subset)
    return written


def write_reader_annotations(output: Union[str, Path], subset: str) -> Path:
    """Write ``{subset}.readers.rttm``: the subset's RTTM labelled with reader identities

    The labels (``spk00``...) of ``{subset}.rttm`` are local to each recording; this
    RTTM labels each turn with its LibriSpeech reader (``LS{reader}``, from
    ``sources.{subset}.txt``), the annotation of ``Mini.SpeakerDiarization.Readers``
    (``scope: database``): one class per reader for speaker-embedding training.
    """
    output = Path(output)
    sources = {}
    for line in (output / f"sources.{subset}.txt").read_text().splitlines():
        uri, label, reader = line.split("\t")
        sources[uri, label] = f"LS{reader}"
    lines = []
    for line in (output / f"{subset}.rttm").read_text().splitlines():
        fields = line.split()
        fields[7] = sources[fields[1], fields[7]]
        lines.append(" ".join(fields))
    return _write_text(output / f"{subset}.readers.rttm", lines)


def mini_audio_missing(output: Union[str, Path] = MINI_DIR) -> List[str]:
    """Uris of the Mini lists whose audio is missing or was built for other annotations.

    Returns
    -------
    uris : list of str
        Empty when ``wav/`` is complete and its stamp matches the annotation files
        (e.g. after a ``git pull`` that changed them, every uri is returned).
    """
    return audio_missing(output, SUBSETS, AUDIO_VERSION)

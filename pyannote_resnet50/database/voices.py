"""Voices: every labelled voice of the shared corpora, one identity per person.

``Voices.SpeakerDiarization.Speakers`` is a speaker-labelled pyannote.database protocol
(``scope: database``) over single-speaker recordings of five corpora:

============================  ==========  =============================================
corpus                        label       split (speakers disjoint across subsets)
============================  ==========  =============================================
LibriSpeech train-clean-100   LS{reader}  as Mini (``data/mini/speakers.{subset}.txt``)
speechocean762                SO{id}      as ReadSpeech (80 / 10 / 10 %, gender x age)
Common Voice (any locales)    CV{id}      held-out candidates: speakers with 3-10 clips
Arabic Speech Commands        AR{id}      80 / 10 / 10 %
============================  ==========  =============================================

* **train** holds every recording of the training speakers: all 20 utterances of a
  speechocean762 speaker, every Common Voice clip, every Arabic keyword recording.
* **development** and **test** start with ReadSpeech's development and test files,
  unchanged (LibriSpeech and speechocean762 lists, so that before / after figures share
  their trials), and add the held-out Common Voice and Arabic speakers (every recording).
* Common Voice speakers are split over all locales at once (a ``client_id`` is one person
  in every locale). Only speakers with 3 to 10 clips are held out (enough speech for
  trials and for simulated conversations, and the few volunteers who recorded most of the
  corpus stay in training): :data:`COMMONVOICE_HELD_OUT` of them go to development and test,
  stratified by locale and gender; everyone else trains.

Each file's annotation is the speech found by the simulator's frame-energy detector,
labelled with the speaker's identity. The annotation files are committed
(``data/voices/``); the audio is not: its location is the ``Voices:`` line of the
top-level ``database.yml``. To train on other Common Voice locales, download them and run
``python -m pyannote_resnet50.database.voices --commonvoice /data/cv-corpus-*/fr ...``, then
add their ``clips/{uri}.mp3`` folder to that line.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from tqdm import tqdm

from pyannote_resnet50.database.commonvoice import Clip, read_commonvoice
from pyannote_resnet50.database.mini import SUBSETS, split_speakers
from pyannote_resnet50.database.readspeech import (
    READSPEECH_DIR,
    utterance_annotation,
    librispeech_speakers,
    speechocean_speakers,
)
from pyannote_resnet50.database.registry import DATA_DIR
from pyannote_resnet50.database.simulator import rttm_lines, uem_line
from pyannote_resnet50.database.simulator.sources import speechocean_utterances

VOICES_DIR = DATA_DIR / "voices"
PROTOCOL = "Voices.SpeakerDiarization.Speakers"
#: share of held-out-eligible Common Voice speakers in development and test
COMMONVOICE_HELD_OUT = {"train": 0.4, "development": 0.25, "test": 0.35}
#: a Common Voice speaker may be held out if they recorded this many clips (bounds included)
COMMONVOICE_CLIPS = (3, 10)
ARABIC_SPLIT = {"train": 0.8, "development": 0.1, "test": 0.1}
PREFIXES = {"librispeech": "LS", "speechocean762": "SO", "commonvoice": "CV", "arabic": "AR"}

__all__ = [
    "VOICES_DIR",
    "PROTOCOL",
    "commonvoice_speakers",
    "arabic_speakers",
    "voices_files",
    "build_voices",
]


def commonvoice_speakers(clips: Sequence[Tuple[str, Clip]], seed: int = 0) -> Dict[str, List[str]]:
    """Common Voice speakers of each subset.

    Parameters
    ----------
    clips : list of (locale, Clip)
    seed : int, optional

    Returns
    -------
    speakers : dict
        {subset: sorted speaker ids (without the ``CV`` prefix)}.
    """
    counts: Dict[str, int] = {}
    locale_of: Dict[str, str] = {}
    gender_of: Dict[str, str] = {}
    for locale, clip in clips:
        counts[clip.speaker] = counts.get(clip.speaker, 0) + 1
        locale_of.setdefault(clip.speaker, locale)
        if clip.gender and not gender_of.get(clip.speaker):
            gender_of[clip.speaker] = clip.gender  # the first gender the volunteer gave
    stratum = {s: f"{locale_of[s]}-{gender_of.get(s, '')}" for s in counts}
    low, high = COMMONVOICE_CLIPS
    eligible = {s: stratum[s] for s, n in counts.items() if low <= n <= high}
    split = split_speakers(eligible, seed=seed, split=COMMONVOICE_HELD_OUT)
    held_out = set(split["development"]) | set(split["test"])
    split["train"] = sorted((s for s in counts if s not in held_out), key=lambda s: (len(s), s))
    return split


def arabic_speakers(utterances_tsv: Union[str, Path], seed: int = 0) -> Dict[str, List[str]]:
    """Arabic Speech Commands speakers of each subset (80 / 10 / 10 %)."""
    with open(utterances_tsv, newline="") as f:
        speakers = sorted({row["speaker"] for row in csv.DictReader(f, delimiter="\t")})
    return split_speakers({s: "-" for s in speakers}, seed=seed, split=ARABIC_SPLIT)


def _commonvoice_folders(shared: Path) -> List[Path]:
    root = shared / "commonvoice"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def voices_files(
    shared: Union[str, Path], commonvoice: Optional[Iterable[Union[str, Path]]] = None
) -> Dict[str, List[Tuple[str, str, Path]]]:
    """Recordings of each subset that are not already in ReadSpeech's lists.

    Parameters
    ----------
    shared : str or Path
        Folder holding ``librispeech/``, ``speechocean762/``, ``arabic-speech-commands/``
        (and ``commonvoice/{locale}/``), e.g. ``../shared/data``.
    commonvoice : list of str or Path, optional
        Common Voice locale folders. Defaults to ``shared/commonvoice/*``.

    Returns
    -------
    files : dict
        {subset: [(uri, identity, audio path)]}: training speakers' every recording;
        held-out Common Voice and Arabic speakers' recordings in development and test
        (ReadSpeech's development and test lists are added by :func:`build_voices`).
    """
    shared = Path(shared)
    files: Dict[str, List[Tuple[str, str, Path]]] = {subset: [] for subset in SUBSETS}

    # LibriSpeech and speechocean762 training speakers: every recording
    librispeech = set(librispeech_speakers()["train"])
    for path in sorted((shared / "librispeech").glob("*.flac")):
        if path.stem.split("-")[0] in librispeech:
            files["train"].append((path.stem, f"LS{path.stem.split('-')[0]}", path))
    for speaker in speechocean_speakers(shared / "speechocean762" / "speakers.tsv")["train"]:
        for path in speechocean_utterances(shared / "speechocean762", speaker):
            files["train"].append((path.stem, f"SO{speaker}", path))

    # Common Voice, every locale at once
    folders = _commonvoice_folders(shared) if commonvoice is None else [Path(p) for p in commonvoice]
    clips = [(folder.name, clip) for folder in folders for clip in read_commonvoice(folder)]
    split = commonvoice_speakers(clips)
    subset_of = {speaker: subset for subset, speakers in split.items() for speaker in speakers}
    for _, clip in clips:
        files[subset_of[clip.speaker]].append((clip.uri, f"CV{clip.speaker}", clip.path))

    # Arabic Speech Commands
    arabic = shared / "arabic-speech-commands"
    if (arabic / "utterances.tsv").is_file():
        subset_of = {s: subset for subset, speakers in arabic_speakers(arabic / "utterances.tsv").items() for s in speakers}
        with open(arabic / "utterances.tsv", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                path = arabic / row["path"]
                files[subset_of[row["speaker"]]].append((path.stem, f"AR{row['speaker']}", path))
    return files


def build_voices(
    shared: Union[str, Path],
    output: Union[str, Path] = VOICES_DIR,
    commonvoice: Optional[Iterable[Union[str, Path]]] = None,
    readspeech: Union[str, Path] = READSPEECH_DIR,
) -> Dict[str, int]:
    """Write the annotation files of Voices (``{subset}.{lst,rttm,uem}``, ``speakers.{subset}.txt``).

    Parameters
    ----------
    shared : str or Path
        See :func:`voices_files`.
    output : str or Path, optional
        Defaults to the package's ``data/voices``.
    commonvoice : list of str or Path, optional
        Common Voice locale folders. Defaults to ``shared/commonvoice/*``.
    readspeech : str or Path, optional
        ReadSpeech's annotation files, whose development and test lists are kept as they are.

    Returns
    -------
    num_files : dict
        {subset: number of files}.
    """
    output, readspeech = Path(output), Path(readspeech)
    output.mkdir(parents=True, exist_ok=True)
    files = voices_files(shared, commonvoice)
    num_files = dict()
    for subset in SUBSETS:
        lst, rttm, uem = [], [], []
        if subset != "train":
            lst = (readspeech / f"{subset}.lst").read_text().split()
            rttm = (readspeech / f"{subset}.rttm").read_text().splitlines()
            uem = (readspeech / f"{subset}.uem").read_text().splitlines()
        speakers = {line.split()[7] for line in rttm}
        seen = set(lst)
        for uri, label, path in tqdm(files[subset], desc=f"Voices {subset}", unit="file", leave=False):
            if uri in seen:
                raise ValueError(f"two recordings are named '{uri}' ({path}): uris must be unique across corpora.")
            seen.add(uri)
            annotation, duration = utterance_annotation(uri, label, path)
            if not annotation:
                continue
            lst.append(uri)
            rttm.extend(rttm_lines(annotation))
            uem.append(uem_line(uri, duration))
            speakers.add(label)
        for ext, lines in [("lst", lst), ("rttm", rttm), ("uem", uem)]:
            (output / f"{subset}.{ext}").write_text("\n".join(lines) + "\n")
        (output / f"speakers.{subset}.txt").write_text("\n".join(sorted(speakers)) + "\n")
        num_files[subset] = len(lst)
    return num_files


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the Voices annotation files.")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--commonvoice", type=Path, nargs="*", default=None,
                        help="Common Voice locale folders (default: SHARED/commonvoice/*)")
    parser.add_argument("--output", type=Path, default=VOICES_DIR)
    args = parser.parse_args()
    print(build_voices(args.shared, args.output, commonvoice=args.commonvoice))

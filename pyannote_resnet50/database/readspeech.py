"""ReadSpeech: single-speaker read utterances with global speaker identities.

``ReadSpeech.SpeakerDiarization.Speakers`` is a speaker-labelled pyannote.database
protocol over two real read-speech corpora:

* LibriSpeech ``train-clean-100`` (one full utterance from each of 251 readers), split
  exactly as the Mini corpus splits its readers (``data/mini/speakers.{subset}.txt``),
  so that the development and test readers of Mini are never training speakers here;
* speechocean762 (250 speakers, 7 utterances each in the committed lists), split 80 / 10 / 10 % into
  train / development / test, stratified by gender and age group (child / adult).

Each file is one utterance; its annotation is the speech found by the frame-energy
detector of the simulator, labelled with the speaker's corpus-wide identity
(``LS{reader}`` or ``SO{speaker}``). The protocol declares ``scope: database``: the same
label is the same person in every file, so an embedding task makes one class per
person, not one per file.

The annotation files are committed (``data/readspeech/``); the audio is not: its
location is the ``ReadSpeech:`` line of the top-level ``database.yml`` (users download
LibriSpeech and speechocean762 from OpenSLR).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Union

from pyannote.core import Annotation, Segment

from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio
from pyannote_resnet50.database.mini import MINI_DIR, SUBSETS, split_speakers
from pyannote_resnet50.database.registry import DATA_DIR
from pyannote_resnet50.database.simulator import energy_vad, rttm_lines, uem_line
from pyannote_resnet50.database.simulator.sources import read_speechocean_speakers, speechocean_utterances

READSPEECH_DIR = DATA_DIR / "readspeech"
PROTOCOL = "ReadSpeech.SpeakerDiarization.Speakers"
#: share of speechocean762 speakers in each subset
SPEECHOCEAN_SPLIT = {"train": 0.8, "development": 0.1, "test": 0.1}
#: pauses shorter than this (seconds) stay inside one speech turn
MIN_SILENCE = 0.5

__all__ = [
    "READSPEECH_DIR",
    "PROTOCOL",
    "librispeech_speakers",
    "speechocean_speakers",
    "utterance_annotation",
    "build_readspeech",
]


def librispeech_speakers(mini_dir: Union[str, Path] = MINI_DIR) -> Dict[str, List[str]]:
    """LibriSpeech readers of each subset: the split of the Mini corpus."""
    return {
        subset: (Path(mini_dir) / f"speakers.{subset}.txt").read_text().split()
        for subset in SUBSETS
    }


def speechocean_speakers(speakers_tsv: Union[str, Path], seed: int = 0) -> Dict[str, List[str]]:
    """speechocean762 speakers of each subset (80 / 10 / 10 %, by gender and age group).

    Parameters
    ----------
    speakers_tsv : str or Path
        speechocean762's ``speakers.tsv`` (columns speaker, gender, age).
    seed : int, optional
    """
    strata = {
        speaker: f"{row['gender']}-{'child' if int(row['age']) < 18 else 'adult'}"
        for speaker, row in read_speechocean_speakers(speakers_tsv).items()
    }
    return split_speakers(strata, seed=seed, split=SPEECHOCEAN_SPLIT)


def utterance_annotation(uri: str, label: str, path: Path) -> tuple[Annotation, float]:
    """Speech of a single-speaker recording (energy detector), labelled `label`, and its duration."""
    waveform = load_audio(path)
    annotation = Annotation(uri=uri)
    for start, end in energy_vad(waveform, min_silence=MIN_SILENCE):
        annotation[Segment(start / SAMPLE_RATE, end / SAMPLE_RATE)] = label
    return annotation, len(waveform) / SAMPLE_RATE


def build_readspeech(
    shared: Union[str, Path], output: Union[str, Path] = READSPEECH_DIR, max_utterances: Optional[int] = None
) -> Dict[str, int]:
    """Write the annotation files of ReadSpeech from the shared corpora.

    Parameters
    ----------
    shared : str or Path
        Folder holding ``librispeech/*.flac`` and ``speechocean762/{speaker}/*.opus``
        (with its ``speakers.tsv``).
    output : str or Path, optional
        Defaults to the package's ``data/readspeech``.
    max_utterances : int, optional
        Keep at most this many utterances of each speechocean762 speaker (the first, by
        name). The committed lists were built from a copy holding 7 per speaker, which
        are not the first 7 of the full corpus: they are kept as they are, and the full
        corpus is used by the Voices protocol (:mod:`pyannote_resnet50.database.voices`).

    Returns
    -------
    num_files : dict
        {subset: number of files}.
    """
    shared, output = Path(shared), Path(output)
    output.mkdir(parents=True, exist_ok=True)
    librispeech = librispeech_speakers()
    speechocean = speechocean_speakers(shared / "speechocean762" / "speakers.tsv")
    num_files = dict()
    for subset in SUBSETS:
        files = []  # (uri, label, path)
        wanted = set(librispeech[subset])
        for path in sorted((shared / "librispeech").glob("*.flac")):
            reader = path.stem.split("-")[0]
            if reader in wanted:
                files.append((path.stem, f"LS{reader}", path))
        for speaker in speechocean[subset]:
            for path in speechocean_utterances(shared / "speechocean762", speaker)[:max_utterances]:
                files.append((path.stem, f"SO{speaker}", path))
        lst, rttm, uem = [], [], []
        for uri, label, path in files:
            annotation, duration = utterance_annotation(uri, label, path)
            if not annotation:
                continue
            lst.append(uri)
            rttm.extend(rttm_lines(annotation))
            uem.append(uem_line(uri, duration))
        for ext, lines in [("lst", lst), ("rttm", rttm), ("uem", uem)]:
            (output / f"{subset}.{ext}").write_text("\n".join(lines) + "\n")
        speakers = sorted({f"LS{s}" for s in librispeech[subset]} | {f"SO{s}" for s in speechocean[subset]})
        (output / f"speakers.{subset}.txt").write_text("\n".join(speakers) + "\n")
        num_files[subset] = len(lst)
    return num_files


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the ReadSpeech annotation files.")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    print(build_readspeech(args.shared))

"""Common Voice: one reader for the official release layout and for the shared copies.

A Common Voice release (any locale, e.g. ``cv-corpus-17.0-2024-03-15/fr``) is a folder with
``clips/*.mp3`` and ``validated.tsv``, whose ``client_id`` column identifies the volunteer
(the same value is the same person in every clip and every locale). The shared copies
(``../shared/data/commonvoice/{en,fa}``) hold ``clips/*.opus`` and ``clips.tsv``, whose
``speaker`` column is a short hash of ``client_id``. :func:`read_commonvoice` reads both
and returns one :class:`Clip` per recording with a speaker identity:

* ``clips.tsv``: the ``speaker`` column as it is;
* ``validated.tsv``: the first 10 hexadecimal digits of the SHA-256 of ``client_id`` (the
  full ``client_id`` is 128 characters long; 10 digits keep identities distinct among
  millions of volunteers).

Clips are single-speaker read sentences; the ``Voices`` protocol
(:mod:`pyannote_resnet50.database.voices`) turns them into speaker-labelled files with
corpus-wide identities.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Union

__all__ = ["Clip", "CommonVoiceError", "read_commonvoice", "speaker_id"]

#: metadata files, in order of preference, and the column naming the speaker in each
METADATA = (("clips.tsv", "speaker"), ("validated.tsv", "client_id"))


class CommonVoiceError(ValueError):
    """A Common Voice folder that cannot be read (the message says how to fix it)"""


@dataclass(frozen=True)
class Clip:
    """One Common Voice recording

    Attributes
    ----------
    uri : str
        File name without its extension (``common_voice_en_37274079``): unique in a release.
    speaker : str
        Speaker identity (see the module docstring).
    path : Path
        Audio file.
    gender : str
        As the volunteer gave it ("" when not given).
    seconds : float or None
        Duration when the metadata gives it (``clips.tsv``), else None.
    """

    uri: str
    speaker: str
    path: Path
    gender: str = ""
    seconds: Optional[float] = None


def speaker_id(client_id: str) -> str:
    """Short, stable identity of a Common Voice ``client_id`` (10 hex digits of its SHA-256)."""
    return hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:10]


def _gender(value: str) -> str:
    """Common Voice writes "male" / "female" (older releases) or "male_masculine" / ... (newer)."""
    value = (value or "").strip().lower()
    for gender in ("female", "male"):
        if value.startswith(gender):
            return gender
    return "other" if value else ""


def read_commonvoice(folder: Union[str, Path], check_audio: bool = True) -> List[Clip]:
    """Clips of a Common Voice folder, sorted by uri.

    Parameters
    ----------
    folder : str or Path
        A locale folder holding ``clips/`` and ``clips.tsv`` (speaker column ``speaker``)
        or ``validated.tsv`` (speaker column ``client_id``: the official release).
    check_audio : bool, optional
        Drop clips whose audio file is missing (Common Voice's ``validated.tsv`` lists
        every validated clip; a partial download holds fewer). Defaults to True.

    Returns
    -------
    clips : list of Clip

    Raises
    ------
    CommonVoiceError
        When no metadata file is found, when it lacks its speaker or path column, or
        when no listed clip has its audio.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CommonVoiceError(f"'{folder}' is not a folder: give a Common Voice locale folder (holding clips/).")
    for name, column in METADATA:
        if (folder / name).is_file():
            break
    else:
        raise CommonVoiceError(
            f"'{folder}' holds neither clips.tsv nor validated.tsv: give a Common Voice locale folder "
            f"(e.g. cv-corpus-17.0-2024-03-15/en, holding clips/ and validated.tsv)."
        )
    tsv = folder / name
    with open(tsv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        fields = reader.fieldnames or []
        for needed in (column, "path"):
            if needed not in fields:
                raise CommonVoiceError(
                    f"{tsv} has no '{needed}' column (columns: {', '.join(fields) or 'none'}): speakers "
                    f"are identified by the '{column}' column of Common Voice's {name}. Use the file of "
                    f"the release as it is downloaded (validated.tsv, column client_id)."
                )
        rows = list(reader)
    clips = []
    for line, row in enumerate(rows, 2):
        path, who = (row.get("path") or "").strip(), (row.get(column) or "").strip()
        if not path or not who:
            raise CommonVoiceError(f"{tsv}, line {line}: empty '{'path' if not path else column}'.")
        path = folder / path if "/" in path else folder / "clips" / path
        if check_audio and not path.is_file():
            continue
        seconds = row.get("seconds")
        clips.append(
            Clip(
                uri=path.stem,
                speaker=who if column == "speaker" else speaker_id(who),
                path=path,
                gender=_gender(row.get("gender", "")),
                seconds=float(seconds) if seconds else None,
            )
        )
    if not clips:
        raise CommonVoiceError(f"none of the {len(rows)} clips listed in {tsv} is under {folder / 'clips'}.")
    uris = [clip.uri for clip in clips]
    if len(set(uris)) != len(uris):
        duplicate = next(u for u in uris if uris.count(u) > 1)
        raise CommonVoiceError(f"{tsv} lists clip '{duplicate}' twice: clips must be unique.")
    return sorted(clips, key=lambda clip: clip.uri)

"""Simulated corpora on disk: subsets, speaker sources and the stamp of their audio.

A simulated corpus (:mod:`~pyannote_resnet50.database.mini`,
:mod:`~pyannote_resnet50.database.conversations`) commits its annotations
(``{subset}.{lst,rttm,uem}``, ``sources.{subset}.txt``) and rebuilds its audio
(``wav/{uri}.wav``) from the shared corpora. ``wav/.stamp`` fingerprints the annotations
the audio was built for (and an audio version bumped when the simulator's audio changes
without changing the annotations), so that stale audio is detected after a ``git pull``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import Recording, _write_text, write_recordings

#: written in ``wav/`` with the audio: the annotations (and audio version) it matches
STAMP = ".stamp"

__all__ = ["STAMP", "audio_stamp", "audio_missing", "write_corpus"]


def audio_stamp(output: Union[str, Path], subsets: Sequence[str], version: int) -> str:
    """Fingerprint of the ``{subset}.{lst,rttm,uem}`` files of `output` and of an audio `version`."""
    output = Path(output)
    digest = hashlib.sha1(f"audio version {version}".encode())
    for subset in subsets:
        for suffix in ("lst", "rttm", "uem"):
            path = output / f"{subset}.{suffix}"
            digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def audio_missing(output: Union[str, Path], subsets: Sequence[str], version: int) -> List[str]:
    """Uris of the ``{subset}.lst`` of `output` whose ``wav/{uri}.wav`` is missing or stale.

    Every uri when ``wav/.stamp`` does not match :func:`audio_stamp` (audio built for
    other annotations or another audio `version`); a missing list counts as ``<{subset}.lst>``.
    """
    output = Path(output)
    uris = []
    for subset in subsets:
        lst = output / f"{subset}.lst"
        uris.extend(lst.read_text().split() if lst.is_file() else [f"<{lst.name}>"])
    stamp = output / "wav" / STAMP
    if not stamp.is_file() or stamp.read_text().strip() != audio_stamp(output, subsets, version):
        return uris
    return [uri for uri in uris if not (output / "wav" / f"{uri}.wav").is_file()]


def write_corpus(
    output: Union[str, Path],
    subsets: Mapping[str, Callable[[], Iterable[Recording]]],
    version: int,
    write_audio: bool = True,
    progress: Optional[str] = None,
    total: Optional[int] = None,
    transform: Optional[Callable[[str, Recording], Recording]] = None,
) -> Dict[str, Path]:
    """Write the subsets of a simulated corpus, their speaker sources and the audio stamp.

    Parameters
    ----------
    output : str or Path
        Corpus folder.
    subsets : dict
        {subset: callable returning its recordings}, written in this order (each with
        :func:`~pyannote_resnet50.database.simulator.write_recordings`).
    version : int
        Audio version of the stamp (:func:`audio_stamp`).
    write_audio : bool, optional
        Write ``wav/{uri}.wav`` and the stamp. Defaults to True.
    progress : str, optional
        Description of a tqdm progress bar (over `total` recordings). Defaults to None: no bar.
    total : int, optional
        Number of recordings of all subsets, for the progress bar.
    transform : callable, optional
        ``transform(subset, recording)`` returns the recording to write (e.g. relabelled);
        it sees every recording once, in order.

    Returns
    -------
    written : dict
        {"{subset}.lst" / ".rttm" / ".uem" / "sources.{subset}": path} of every file but the audio.
    """
    output = Path(output)
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=progress, unit="file")
    written = {}
    try:
        for subset, recordings in subsets.items():
            rows = []

            def tracked(generator, subset=subset, rows=rows):
                for recording in generator:
                    rows.extend(f"{recording.uri}\t{label}\t{speaker}" for label, speaker in recording.speakers.items())
                    if bar is not None:
                        bar.update(1)
                    yield recording if transform is None else transform(subset, recording)

            for kind, path in write_recordings(tracked(recordings()), output, subset, write_audio=write_audio).items():
                written[f"{subset}.{kind}"] = path
            written[f"sources.{subset}"] = _write_text(output / f"sources.{subset}.txt", rows)
    finally:
        if bar is not None:
            bar.close()
    if write_audio:
        _write_text(output / "wav" / STAMP, [audio_stamp(output, list(subsets), version)])
    return written

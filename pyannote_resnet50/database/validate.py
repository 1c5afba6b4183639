"""Validation of protocol annotation files, with errors that say what to fix.

pyannote.database reads RTTM / UEM files lazily with pandas: a malformed line or a uri
without annotation surfaces later as a cryptic pandas or KeyError, or, worse, as a file
silently without speech. :func:`validate_protocol_files` reads the files of each subset
of a protocol first and raises a :class:`ValueError` naming the file, the line number and
what is wrong, or the uri and the file where its annotation was expected.

Every entry point goes through it: :func:`~pyannote_resnet50.database.registry.get_protocol`
(``optimize``, ``apply``, the EDA, anyone's scripts) and the training task
(:class:`~pyannote_resnet50.tasks.FileScopedSpeakerEmbedding`, whose protocol
``pyannote-audio-train`` loads) call :func:`validate_protocol_files` on the protocol
object, which checks the very files pyannote.database will read. Files are parsed once
per process and version: results are cached by path, modification time and size, so
validating again costs a ``stat`` per file. This module reads files only; it knows no
registry. To validate a protocol by name (loading a database.yml), anyone can call::

    from pyannote_resnet50.database import validate_protocol
    validate_protocol("Mini.SpeakerDiarization.Simulated")
"""

import functools
import inspect
import math
import os
import string
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from pyannote.database.custom import resolve_path
from pyannote.database.protocol.protocol import Protocol

#: subsets a pyannote.database protocol may define, in order
SUBSETS = ("train", "development", "test")

__all__ = [
    "protocol_entries",
    "parse_rttm",
    "parse_uem",
    "validate_subset",
    "SUBSETS",
    "validate_protocol_files",
]

#: parsed files: {(parser, path, mtime, size, arguments): result}
_PARSED: Dict[tuple, Any] = {}

RTTM_LINE = "SPEAKER <uri> 1 <onset> <duration> <NA> <NA> <label> <NA> <NA>"
UEM_LINE = "<uri> 1 <start> <end>"

#: (start, duration) of each turn of each uri
Turns = Dict[str, List[Tuple[float, float]]]


def protocol_entries(protocol: Protocol) -> Dict[str, Tuple[Dict, Path]]:
    """Entries of each subset of a protocol defined in a database.yml, as pyannote.database reads them

    Parameters
    ----------
    protocol : Protocol
        As returned by ``registry.get_protocol``.

    Returns
    -------
    entries : dict
        {subset: ({"uri": ..., "annotation": ..., "annotated": ...}, database_yml)}, where
        relative paths are relative to database_yml; empty for a protocol defined in Python.
    """
    entries = {}
    for subset in SUBSETS:
        method = inspect.getattr_static(type(protocol), f"{subset}_iter", None)
        keywords = getattr(method, "keywords", None) or {}
        if isinstance(keywords.get("entries"), Mapping) and keywords.get("database_yml"):
            entries[subset] = (dict(keywords["entries"]), Path(keywords["database_yml"]))
    return entries


def _cached(parse):
    """Cache `parse(path, **kwargs)` by path, modification time and size of `path`"""

    @functools.wraps(parse)
    def cached(path: Union[str, Path], *args, **kwargs):
        stat = os.stat(path)
        key = (parse.__name__, str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, args,
               tuple(sorted(kwargs.items())))
        if key not in _PARSED:
            _PARSED[key] = parse(path, *args, **kwargs)
        return _PARSED[key]

    return cached


def _number(text: str, what: str, where: str, positive: bool = False) -> float:
    """`text` as a finite number >= 0 (> 0 when `positive`), else an error saying how to fix the line"""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} '{text}' is not a number: write it in seconds, e.g. 12.340.") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(
            f"{where}: {what} '{text}' should be a finite number {bound}: correct it, or remove the line."
        )
    return value


def _lines(path: Union[str, Path]) -> Iterator[Tuple[str, List[str], str]]:
    """Non-empty, non-comment lines of `path` as ("{path}, line {n}", fields, stripped line)."""
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if fields and not fields[0].startswith(";"):
                yield f"{path}, line {number}", fields, line.strip()


@_cached
def parse_rttm(path: Union[str, Path], uri: Optional[str] = None) -> Turns:
    """Read and check the SPEAKER lines of an RTTM file.

    Parameters
    ----------
    path : str or Path
    uri : str, optional
        When the file is the annotation of one uri (``{uri}.rttm`` templates), every
        line must be about this uri.

    Returns
    -------
    turns : dict
        {uri: [(start, duration), ...]}.

    Raises
    ------
    ValueError
        Naming the file, the line number, the problem and its fix: wrong number of
        fields, start not a number >= 0, duration not a number > 0, empty speaker
        label, uri other than expected.
    """
    turns: Turns = {}
    for where, fields, line in _lines(path):
        if len(fields) not in (9, 10):
            raise ValueError(
                f"{where}: expected 10 space-separated RTTM fields "
                f"('SPEAKER uri channel start duration <NA> <NA> label <NA> <NA>'), found {len(fields)}: "
                f"'{line}'. Rewrite it as '{RTTM_LINE}'."
            )
        if fields[0] != "SPEAKER":
            continue
        start = _number(fields[3], "start time (field 4)", where)
        duration = _number(fields[4], "duration (field 5)", where, positive=True)
        if uri is not None and fields[1] != uri:
            raise ValueError(
                f"{where}: uri '{fields[1]}' in the annotation file of uri '{uri}': move the line to "
                f"the file of '{fields[1]}'."
            )
        if fields[7] in {"", "<NA>"}:
            raise ValueError(f"{where}: missing speaker label (field 8): write the speaker's label there.")
        turns.setdefault(fields[1], []).append((start, duration))
    return turns


@_cached
def parse_uem(path: Union[str, Path]) -> Dict[str, List[Tuple[float, float]]]:
    """Read and check a UEM file ({uri: [(start, end), ...]}); errors name file, line and fix."""
    regions: Dict[str, List[Tuple[float, float]]] = {}
    for where, fields, line in _lines(path):
        if len(fields) != 4:
            raise ValueError(
                f"{where}: expected 4 UEM fields ('uri channel start end'), found {len(fields)}: '{line}'. "
                f"Rewrite it as '{UEM_LINE}'."
            )
        start = _number(fields[2], "start time (field 3)", where)
        end = _number(fields[3], "end time (field 4)", where)
        if end <= start:
            raise ValueError(
                f"{where}: end time {end} is not after start time {start}: the scored region must not be "
                f"empty (remove the line, or remove the uri from the protocol)."
            )
        regions.setdefault(fields[0], []).append((start, end))
    return regions


def _is_template(value: str) -> bool:
    return any(field for _, field, _, _ in string.Formatter().parse(value))


def validate_subset(name: str, subset: str, entries: Mapping, database_yml: Path) -> Dict[str, int]:
    """Check the uri list, RTTM and UEM files of one subset.

    Parameters
    ----------
    name, subset : str
        Protocol and subset names (for messages).
    entries : dict
        The subset's entries ("uri", optional "annotation" and "annotated").
    database_yml : Path
        The database.yml the relative paths of `entries` are relative to.

    Returns
    -------
    counts : dict
        {"files": ..., "turns": ...}.

    Raises
    ------
    ValueError
        On a missing file, a malformed line, a uri without annotation or UEM, a uri
        listed twice.
    """
    context = f"{name} {subset} (defined in {database_yml})"

    def resolve(value: str, what: str) -> Path:
        try:
            return resolve_path(Path(value), database_yml)
        except FileNotFoundError:
            raise ValueError(
                f"{context}: {what} file '{value}' does not exist (relative paths are relative to "
                f"{database_yml.parent})."
            ) from None

    lst = resolve(entries["uri"], "uri list")
    uris = _uri_list(lst)
    database = name.split(".")[0]

    def files(key: str, what: str, parse) -> Iterator[Tuple[str, Path, Dict]]:
        """(uri, file, parsed file) of each listed uri, for entry `key` (a file or a {uri} template)"""
        value = entries.get(key)
        if not isinstance(value, str):
            return
        if not _is_template(value):
            path = resolve(value, what)
            parsed = parse(path)
            for uri in uris:
                yield uri, path, parsed
            return
        for uri in uris:
            relative = value.format(uri=uri, database=database, subset=subset)
            try:
                path = resolve_path(Path(relative), database_yml)
            except FileNotFoundError:
                raise ValueError(
                    f"{context}: uri '{uri}' (listed in {lst}) has no {what}: '{relative}' does not exist. "
                    f"Write it, or remove '{uri}' from {lst}."
                ) from None
            yield uri, path, parse(path, uri=uri) if parse is parse_rttm else parse(path)

    num_turns = 0
    for uri, path, turns in files("annotation", "annotation", parse_rttm):
        if uri not in turns:
            raise ValueError(
                f"{context}: uri '{uri}' (listed in {lst}) has no SPEAKER turn in {path}. Add its turns "
                f"('{RTTM_LINE}'), or remove '{uri}' from {lst}: a file without reference speech is not "
                f"taken as 'no speech', since its diarization error rate is undefined."
            )
        num_turns += len(turns[uri])
    for uri, path, regions in files("annotated", "annotated (UEM)", parse_uem):
        if uri not in regions:
            raise ValueError(
                f"{context}: uri '{uri}' (listed in {lst}) has no line in UEM file {path}. Add its scored "
                f"region ('{UEM_LINE}', e.g. '{uri} 1 0.000 <duration of the file>')."
            )
    return {"files": len(uris), "turns": num_turns}


@_cached
def _uri_list(path: Path) -> List[str]:
    """uris of a uri list, each listed once (else an error naming the uri, the file and the line)"""
    uris: Dict[str, None] = {}
    for where, fields, line in _lines(path):
        if len(fields) != 1:
            raise ValueError(f"{where}: expected one uri per line, found '{line}': put one uri on each line.")
        if fields[0] in uris:
            raise ValueError(f"{where}: uri '{fields[0]}' is listed twice in {path}: remove this line.")
        uris[fields[0]] = None
    return list(uris)


def validate_protocol_files(protocol: Protocol, subsets: Optional[Iterable[str]] = None) -> Dict[str, Dict[str, int]]:
    """Check the uri lists, RTTM and UEM files that `protocol` reads, as every entry point does

    Parameters
    ----------
    protocol : Protocol
        As returned by ``registry.get_protocol`` (any registry).
    subsets : iterable of str, optional
        Defaults to every subset the protocol defines.

    Returns
    -------
    counts : dict
        {subset: {"files": ..., "turns": ...}}; empty for a protocol defined in Python
        (no annotation file to check).

    Raises
    ------
    ValueError
        Unknown subset, or any problem found by :func:`validate_subset`.
    """
    entries = protocol_entries(protocol)
    counts = {}
    for subset in (subsets or entries) if entries else []:
        if subset not in entries:
            raise ValueError(
                f"protocol '{protocol.name}' has no '{subset}' subset: use one of {', '.join(entries)}."
            )
        counts[subset] = validate_subset(protocol.name, subset, *entries[subset])
    return counts

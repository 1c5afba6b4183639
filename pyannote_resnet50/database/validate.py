"""Validation of protocol annotation files, with errors that say what to fix.

pyannote.database reads RTTM / UEM files lazily with pandas: a malformed line or a uri
without annotation surfaces later as a cryptic pandas or KeyError, or, worse, as a file
silently without speech. :func:`validate_protocol` reads the files of each subset of a
protocol first and raises a :class:`ValueError` naming the file, the line number and
what is wrong, or the uri and the file where its annotation was expected.

Used by the EDA (:mod:`pyannote_resnet50.database.eda`); callable by anyone::

    from pyannote_resnet50.database.validate import validate_protocol
    validate_protocol("Mini.SpeakerDiarization.Simulated")
"""

import math
import string
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from pyannote.database.custom import resolve_path
from pyannote.database.registry import Registry

from .registry import load_registry

SUBSETS = ("train", "development", "test")

__all__ = ["protocol_config", "parse_rttm", "parse_uem", "validate_subset", "validate_protocol"]

#: (start, duration) of each turn of each uri
Turns = Dict[str, List[Tuple[float, float]]]


def protocol_config(name: str, registry: Registry) -> Tuple[Dict[str, Dict], Path]:
    """Subset entries of protocol `name` as written in the database.yml that defines it.

    Parameters
    ----------
    name : str
        "Database.Task.Protocol".
    registry : Registry
        A loaded registry (see :func:`~pyannote_resnet50.database.registry.load_registry`).

    Returns
    -------
    subsets : dict
        {subset: {"uri": ..., "annotation": ..., "annotated": ...}}.
    database_yml : Path
        The file defining the protocol (the last one loaded, as pyannote.database does).
    """
    parts = name.split(".")
    if len(parts) != 3:
        raise ValueError(f"protocol name '{name}' should read 'Database.Task.Protocol'.")
    database, task, protocol = parts
    found = None
    for database_yml, config in registry.configs.items():
        entries = (config.get("Protocols") or {}).get(database, {}) or {}
        entries = (entries.get(task) or {}).get(protocol)
        if entries is not None:
            found = (entries, Path(database_yml))
    if found is None:
        known = sorted(
            f"{d}.{t}.{p}"
            for config in registry.configs.values()
            for d, tasks in (config.get("Protocols") or {}).items()
            for t, protocols in (tasks or {}).items()
            for p in (protocols or {})
        )
        raise ValueError(f"unknown protocol '{name}': known protocols are {', '.join(known)}.")
    entries, database_yml = found
    subsets = {subset: dict(entries[subset]) for subset in SUBSETS if isinstance(entries.get(subset), Mapping)}
    return subsets, database_yml


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} '{text}' is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {what} '{text}' should be a finite number >= 0.")
    return value


def _lines(path: Union[str, Path]) -> Iterator[Tuple[str, List[str], str]]:
    """Non-empty, non-comment lines of `path` as ("{path}, line {n}", fields, stripped line)."""
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if fields and not fields[0].startswith(";"):
                yield f"{path}, line {number}", fields, line.strip()


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
        Naming the file, the line number and the problem: wrong number of fields,
        start or duration not a non-negative number, empty speaker label, uri other
        than expected.
    """
    turns: Turns = {}
    for where, fields, line in _lines(path):
        if len(fields) not in (9, 10):
            raise ValueError(
                f"{where}: expected 10 space-separated RTTM fields "
                f"('SPEAKER uri channel start duration <NA> <NA> label <NA> <NA>'), found {len(fields)}: "
                f"'{line}'."
            )
        if fields[0] != "SPEAKER":
            continue
        start = _number(fields[3], "start time (field 4)", where)
        duration = _number(fields[4], "duration (field 5)", where)
        if uri is not None and fields[1] != uri:
            raise ValueError(f"{where}: uri '{fields[1]}' in the annotation file of uri '{uri}'.")
        if fields[7] in {"", "<NA>"}:
            raise ValueError(f"{where}: missing speaker label (field 8).")
        turns.setdefault(fields[1], []).append((start, duration))
    return turns


def parse_uem(path: Union[str, Path]) -> Dict[str, List[Tuple[float, float]]]:
    """Read and check a UEM file ({uri: [(start, end), ...]}); errors name file and line."""
    regions: Dict[str, List[Tuple[float, float]]] = {}
    for where, fields, _ in _lines(path):
        if len(fields) != 4:
            raise ValueError(f"{where}: expected 4 UEM fields ('uri channel start end'), found {len(fields)}.")
        start = _number(fields[2], "start time (field 3)", where)
        end = _number(fields[3], "end time (field 4)", where)
        if end <= start:
            raise ValueError(f"{where}: end time {end} is not after start time {start}.")
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
    uris = [line.strip() for line in lst.read_text().splitlines() if line.strip()]
    seen = set()
    for uri in uris:
        if uri in seen:
            raise ValueError(f"{context}: uri '{uri}' is listed twice in {lst}.")
        seen.add(uri)

    num_turns = 0
    annotation = entries.get("annotation")
    if isinstance(annotation, str):
        if _is_template(annotation):
            for uri in uris:
                value = annotation.format(uri=uri, database=name.split(".")[0], subset=subset)
                try:
                    path = resolve_path(Path(value), database_yml)
                except FileNotFoundError:
                    raise ValueError(
                        f"{context}: uri '{uri}' (listed in {lst}) has no annotation: "
                        f"'{value}' does not exist."
                    ) from None
                turns = parse_rttm(path, uri=uri)
                if uri not in turns:
                    raise ValueError(f"{context}: uri '{uri}' (listed in {lst}) has no SPEAKER turn in {path}.")
                num_turns += len(turns[uri])
        else:
            path = resolve(annotation, "annotation")
            turns = parse_rttm(path)
            for uri in uris:
                if uri not in turns:
                    raise ValueError(f"{context}: uri '{uri}' (listed in {lst}) has no SPEAKER turn in {path}.")
                num_turns += len(turns[uri])

    annotated = entries.get("annotated")
    if isinstance(annotated, str) and not _is_template(annotated):
        path = resolve(annotated, "annotated (UEM)")
        regions = parse_uem(path)
        for uri in uris:
            if uri not in regions:
                raise ValueError(f"{context}: uri '{uri}' (listed in {lst}) has no line in UEM file {path}.")
    return {"files": len(uris), "turns": num_turns}


def validate_protocol(
    name: str,
    database_yml: Union[str, Path, None] = None,
    subsets: Optional[Iterable[str]] = None,
    registry: Optional[Registry] = None,
) -> Dict[str, Dict[str, int]]:
    """Check the annotation files of every (or some) subset of protocol `name`.

    Parameters
    ----------
    name : str
        e.g. "VoxConverse.SpeakerDiarization.Full".
    database_yml : str or Path, optional
        See :func:`~pyannote_resnet50.database.registry.load_registry`.
    subsets : iterable of str, optional
        Defaults to every subset the protocol defines.
    registry : Registry, optional
        Use this already loaded registry instead of loading `database_yml`.

    Returns
    -------
    counts : dict
        {subset: {"files": ..., "turns": ...}}.

    Raises
    ------
    ValueError
        Unknown protocol or subset, or any problem found by :func:`validate_subset`.
    """
    registry = registry or load_registry(database_yml)
    config, defined_in = protocol_config(name, registry)
    subsets: Sequence[str] = list(subsets or config)
    counts = {}
    for subset in subsets:
        if subset not in config:
            raise ValueError(f"protocol '{name}' has no '{subset}' subset: it has {', '.join(config)}.")
        counts[subset] = validate_subset(name, subset, config[subset], defined_in)
    return counts

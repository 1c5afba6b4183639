"""Load pyannote_resnet50's protocols into pyannote.database's registry."""

import os
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Union

from pyannote.database import FileFinder, registry as global_registry
from pyannote.database.protocol.protocol import Protocol, ProtocolFile
from pyannote.database.registry import Registry

from .validate import SUBSETS, validate_protocol_files

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: protocols and data paths shipped inside the package
PACKAGE_DATABASE_YML = DATA_DIR / "database.yml"
#: top-level database.yml of a source checkout (requires the package one and sets
#: the VoxConverse audio line); None when the package is installed without it
DATABASE_YML: Optional[Path] = DATA_DIR.parents[1] / "database.yml"
if not DATABASE_YML.is_file():
    DATABASE_YML = None


def default_database_yml() -> Path:
    """The database.yml used when none is given.

    ``$PYANNOTE_DATABASE_CONFIG`` when set, else the checkout's top-level
    ``database.yml``, else the one shipped in the package.
    """
    env = os.environ.get("PYANNOTE_DATABASE_CONFIG")
    if env:
        return Path(env.split(os.pathsep)[0]).expanduser()
    return DATABASE_YML or PACKAGE_DATABASE_YML


def load_registry(
    database_yml: Union[str, Path, None] = None, registry: Registry = global_registry
) -> Registry:
    """Load pyannote_resnet50 protocols (and `database_yml`) into `registry`.

    Parameters
    ----------
    database_yml : str or Path, optional
        Defaults to :func:`default_database_yml`.
    registry : Registry, optional
        Defaults to pyannote.database's global registry.
    """
    database_yml = Path(database_yml or default_database_yml())
    if not database_yml.is_file():
        raise FileNotFoundError(
            f"database configuration '{database_yml}' does not exist: pass the path to "
            f"pyannote_resnet50's database.yml (or a yml listing '{PACKAGE_DATABASE_YML}' "
            f"under 'Requirements:')."
        )
    registry.load_database(PACKAGE_DATABASE_YML)
    registry.load_database(database_yml)
    registry.database_yml = database_yml
    return registry


class AudioFinder(FileFinder):
    """pyannote.database's FileFinder, whose error says which setting to change.

    Parameters
    ----------
    registry : Registry, optional
        Defaults to pyannote.database's global registry.
    """

    def __call__(self, current_file: ProtocolFile) -> Path:
        try:
            return super().__call__(current_file)
        except FileNotFoundError as error:
            raise FileNotFoundError(audio_not_found_message(current_file, error, self.registry)) from None


def database_yml_of(database: str, registry: Registry = global_registry) -> Path:
    """The database.yml whose ``Databases: {database}:`` line `registry` uses

    The last loaded file setting that line, as pyannote.database does (whoever loaded
    it: :func:`load_registry`, ``pyannote-audio-train +registry=...``,
    ``$PYANNOTE_DATABASE_CONFIG``); the registry's (or the default) database.yml when
    none does.
    """
    defining = []
    for database_yml, config in registry.configs.items():
        value = (config.get("Databases") or {}).get(database)
        if value is not None:
            paths = [str(Path(database_yml).parent / p) for p in (value if isinstance(value, list) else [value])]
            defining.append((Path(database_yml), paths))
    used = [yml for yml, paths in defining if paths == list(registry.sources.get(database, []))]
    found = used or [yml for yml, _ in defining]
    return found[-1] if found else getattr(registry, "database_yml", None) or default_database_yml()


def audio_not_found_message(current_file: Mapping, error: Exception, registry: Registry = global_registry) -> str:
    """Explain how to point a protocol at its audio (`error` unchanged when it already does)."""
    if "Databases:" in str(error):
        return str(error)
    database = current_file["database"]
    database_yml = database_yml_of(database, registry)
    hint = {
        "VoxConverse": "download voxconverse_dev_wav.zip and voxconverse_test_wav.zip from the "
        "VoxConverse site, unzip them under one folder and set",
        "Mini": "build the Mini corpus with `pyannote-resnet50 mini`, or set",
    }.get(database, "set")
    return (
        f"{error}\n"
        f"Audio of '{current_file['uri']}' ({database}) is missing: {hint} the "
        f"'Databases: {database}:' line of {database_yml} to the folder holding the audio, "
        f"for instance '{database}: /data/{database.lower()}/**/{{uri}}.wav'."
    )


def get_protocol(
    name: str,
    database_yml: Union[str, Path, None] = None,
    preprocessors: Optional[Mapping] = None,
) -> Protocol:
    """Get a protocol of pyannote_resnet50 with its audio preprocessor, its annotation files validated.

    Parameters
    ----------
    name : str
        Protocol name, e.g. "Mini.SpeakerDiarization.Simulated".
    database_yml : str or Path, optional
        See :func:`load_registry`.
    preprocessors : dict, optional
        Extra preprocessors; "audio" defaults to :class:`AudioFinder`.

    Raises
    ------
    ValueError
        Unknown protocol, or a malformed uri list, RTTM or UEM file of any of its
        subsets (naming the file, the line and the fix; see
        :func:`~pyannote_resnet50.database.validate.validate_protocol_files`).
    """
    registry = load_registry(database_yml)
    preprocessors = {"audio": AudioFinder(registry=registry), **(preprocessors or {})}
    protocol = registered_protocol(name, registry, preprocessors=preprocessors)
    validate_protocol_files(protocol)
    return protocol


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
        See :func:`load_registry`.
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
        Unknown protocol or subset, or any problem found by
        :func:`~pyannote_resnet50.database.validate.validate_subset`.
    """
    registry = registry or load_registry(database_yml)
    return validate_protocol_files(registered_protocol(name, registry), subsets)


def registered_protocol(name: str, registry: Registry = global_registry, **kwargs) -> Protocol:
    """``registry.get_protocol(name, **kwargs)``, with an error listing the known protocols"""
    try:
        return registry.get_protocol(name, **kwargs)
    except (KeyError, ValueError):
        database_yml = getattr(registry, "database_yml", None) or "the loaded database.yml"
        raise ValueError(
            f"unknown protocol '{name}' (database configuration: {database_yml}): known protocols are "
            f"{', '.join(sorted(registry))}."
        ) from None


def protocol_subsets(protocol: Protocol) -> List[str]:
    """Subsets ("train", "development", "test") that `protocol` defines."""
    return [
        subset
        for subset in SUBSETS
        if getattr(type(protocol), f"{subset}_iter", None) is not getattr(Protocol, f"{subset}_iter")
    ]


def protocol_subset(protocol: Protocol, subset: str) -> Iterator[ProtocolFile]:
    """Files of `subset` of `protocol`, with an error listing the valid subsets for any other name.

    Parameters
    ----------
    protocol : Protocol
    subset : str
        e.g. "development".

    Returns
    -------
    files : iterator of ProtocolFile

    Raises
    ------
    ValueError
        When `protocol` has no such subset.
    """
    valid = protocol_subsets(protocol)
    if subset not in valid:
        raise ValueError(
            f"protocol '{protocol.name}' has no '{subset}' subset: use one of {', '.join(valid)} (--subset)."
        )
    return getattr(protocol, subset)()

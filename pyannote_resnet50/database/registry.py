"""Load pyannote_resnet50's protocols into pyannote.database's registry."""

import os
from pathlib import Path
from typing import Mapping, Optional, Union

from pyannote.database import FileFinder, registry as global_registry
from pyannote.database.registry import Registry
from pyannote.database.protocol.protocol import ProtocolFile

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


def audio_not_found_message(current_file: Mapping, error: Exception, registry: Registry = global_registry) -> str:
    """Explain how to point a protocol at its audio (`error` unchanged when it already does)."""
    if "Databases:" in str(error):
        return str(error)
    database = current_file["database"]
    database_yml = getattr(registry, "database_yml", None) or default_database_yml()
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
):
    """Get a protocol of pyannote_resnet50 with its audio preprocessor.

    Parameters
    ----------
    name : str
        Protocol name, e.g. "Mini.SpeakerDiarization.Simulated".
    database_yml : str or Path, optional
        See :func:`load_registry`.
    preprocessors : dict, optional
        Extra preprocessors; "audio" defaults to :class:`AudioFinder`.
    """
    registry = load_registry(database_yml)
    preprocessors = {"audio": AudioFinder(registry=registry), **(preprocessors or {})}
    return registry.get_protocol(name, preprocessors=preprocessors)

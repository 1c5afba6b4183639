"""Where the outputs of a uri go: the one function that turns a uri into a file name.

A uri (pyannote's file identifier) comes from data: a protocol's uri list, an RTTM, a
file name. It names outputs (``{uri}.rttm``, ``{uri}.png``, ``{uri}.npz``), so a uri such
as ``../../escaped/escapee`` or ``/etc/x`` would write outside the folder the user chose.
:func:`output_path` is used by every writer of per-uri files (``diarize``, ``apply``,
their plots, ``optimize --cache``) and refuses such uris (:func:`check_uri`).

This module imports nothing heavy (worker processes import it first).
"""

import os
from pathlib import Path, PureWindowsPath
from typing import Iterable, Union

__all__ = ["check_uri", "check_uris", "output_path"]

#: path separators refused in a uri, whatever the operating system
SEPARATORS = ("/", "\\")


def check_uri(uri: str) -> str:
    """Refuse a uri that cannot be a file name inside an output folder

    Parameters
    ----------
    uri : str

    Returns
    -------
    uri : str
        `uri`, unchanged.

    Raises
    ------
    ValueError
        When `uri` is not a non-empty string, is absolute, contains a path separator
        (``/`` or ``\\``), ``..``, a drive (``C:``) or a NUL character, or is ``.``.
    """
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"uri {uri!r} is not a non-empty string: it names output files ({{uri}}.rttm, ...).")
    why = None
    if os.path.isabs(uri) or PureWindowsPath(uri).drive:
        why = "is an absolute path"
    elif any(separator in uri for separator in SEPARATORS):
        why = "contains a path separator"
    elif ".." in uri or uri == ".":
        why = "contains '..'" if ".." in uri else "is '.'"
    elif "\0" in uri:
        why = "contains a NUL character"
    if why:
        raise ValueError(
            f"uri {uri!r} {why}: a uri names output files ({{uri}}.rttm, .png, .npz) and must not lead out "
            "of the output folder. Rename it (in the uri list and the annotations, or the audio file name) to a "
            "plain name such as 'meeting_01'."
        )
    return uri


def check_uris(uris: Iterable[str]) -> None:
    """Refuse, all at once, the uris :func:`check_uri` refuses

    Raises
    ------
    ValueError
        Listing every refused uri.
    """
    refused = []
    for uri in uris:
        try:
            check_uri(uri)
        except ValueError as error:
            refused.append(str(error))
    if len(refused) == 1:
        raise ValueError(refused[0])
    if refused:
        raise ValueError(f"{len(refused)} uris cannot name output files:\n  " + "\n  ".join(refused))


def output_path(output_dir: Union[str, Path], uri: str, suffix: str) -> Path:
    """Path of the output of `uri` with `suffix` in `output_dir`: ``output_dir/{uri}{suffix}``

    Parameters
    ----------
    output_dir : str or Path
        Output folder.
    uri : str
        File identifier (checked by :func:`check_uri`).
    suffix : str
        e.g. ".rttm", ".png", ".npz".

    Returns
    -------
    path : Path
        Always directly inside `output_dir`.

    Raises
    ------
    ValueError
        When `uri` would lead out of `output_dir` (see :func:`check_uri`).
    """
    return Path(output_dir) / f"{check_uri(uri)}{suffix}"

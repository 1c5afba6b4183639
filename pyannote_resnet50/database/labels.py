"""File-scoped speaker identities.

VoxConverse (and every protocol shipped here, ``scope: file``) labels speakers
``spk00``, ``spk01``... independently in each file. Wherever labels are used as
identities *across* files (classes of the embedding task, trials of its validation,
speaker counts of a whole subset in the EDA), they go through :func:`scoped_label`,
which turns ``spk00`` of file ``abjxc`` into ``abjxc@spk00``.
"""

from typing import Mapping

from pyannote.core import Annotation

SEPARATOR = "@"


def scoped_label(file: Mapping, label: str) -> str:
    """Identity of `label` of `file` according to the protocol's label scope.

    Parameters
    ----------
    file : ProtocolFile or dict
        Needs "uri"; "scope" is one of "file" (default), "database", "global";
        "database" is needed for the "database" scope.
    label : str
        Speaker label as written in the annotation.
    """
    scope = file.get("scope", "file") if hasattr(file, "get") else "file"
    if scope == "global":
        return str(label)
    if scope == "database":
        return f"{file['database']}{SEPARATOR}{label}"
    if scope == "file":
        return f"{file['uri']}{SEPARATOR}{label}"
    raise ValueError(f"unknown label scope '{scope}' of file '{file['uri']}': use 'file', 'database' or 'global'.")


def scoped_annotation(file: Mapping) -> Annotation:
    """`file["annotation"]` with labels renamed by :func:`scoped_label`."""
    annotation: Annotation = file["annotation"]
    mapping = {label: scoped_label(file, label) for label in annotation.labels()}
    return annotation.rename_labels(mapping=mapping)

"""Atomic file writes: a file is either absent, its previous content, or complete.

Every writer of a result that a rerun may skip or a reader may load while it is written
(``{uri}.rttm`` of ``apply`` / ``diarize``, their plots, ``.run.json``) goes through
:func:`atomic_write`, so that a killed run never leaves a half-written file.

This module imports nothing heavy (worker processes import it first).
"""

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Union

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: Union[str, Path], mode: str = "w") -> Iterator[Any]:
    """Write `path` all at once: a temporary file in the same folder, then ``os.replace``.

    Parameters
    ----------
    path : str or Path
        Destination (its folder is created if needed).
    mode : {"w", "wb"}, optional
        Text (default) or binary.

    Yields
    ------
    file : file object
        The temporary file, to write to. When the block raises (or the process is
        interrupted), `path` keeps its previous content (or stays absent) and the
        temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files
        with os.fdopen(fd, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

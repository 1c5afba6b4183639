"""Speaker timelines as PNG, drawn by pyannote.core's notebook plotting.

One row per annotation (pyannote.core ``Notebook.plot_annotation``: one line per
speaker turn, overlapping turns stacked): the hypothesis, and above it the reference when
there is one, with the diarization error rate (pyannote.metrics) in the title and the
hypothesis' speakers renamed after the reference speakers they are mapped to, so that
matched speakers share a colour.

Each PNG records what it was drawn with besides the hypothesis (:func:`plot_fingerprint`:
the reference and the evaluated region) in a PNG text chunk, so that a rerun with a new or
another ``--reference`` redraws it (:func:`plot_is_current`).
"""

import hashlib
from pathlib import Path
from typing import Optional, Union

import matplotlib
import matplotlib.cm

if not hasattr(matplotlib.cm, "get_cmap"):
    # pyannote.core 5.0's notebook still calls matplotlib.cm.get_cmap, removed in matplotlib 3.9
    matplotlib.cm.get_cmap = matplotlib.colormaps.get_cmap

from matplotlib.figure import Figure  # noqa: E402  (no pyplot: no global state, no display)
from pyannote.core import Annotation, Segment, Timeline  # noqa: E402
from pyannote.core.notebook import Notebook  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from pyannote_resnet50.core.atomic import atomic_write  # noqa: E402

__all__ = ["plot_diarization", "plot_fingerprint", "plot_is_current"]

#: PNG text chunk holding :func:`plot_fingerprint`
FINGERPRINT_KEY = "pyannote_resnet50 reference"


def plot_fingerprint(reference: Optional[Annotation] = None, uem: Optional[Timeline] = None) -> str:
    """SHA-256 of what a plot shows besides its hypothesis: the reference and the UEM"""
    digest = hashlib.sha256()
    digest.update(b"no reference" if reference is None else reference.to_rttm().encode())
    digest.update(b"no uem" if not uem else "".join(f"{s.start:.3f} {s.end:.3f}\n" for s in uem).encode())
    return digest.hexdigest()


def plot_is_current(path: Union[str, Path], reference: Optional[Annotation] = None,
                    uem: Optional[Timeline] = None) -> bool:
    """Whether the PNG at `path` exists and shows what is asked for

    Without `reference`, any PNG does (a rerun without ``--reference`` keeps the plots drawn
    with one); with `reference`, only one drawn with that reference and `uem` (a PNG of an
    earlier version, without a recorded fingerprint, does not).
    """
    path = Path(path)
    if not path.is_file():
        return False
    if reference is None:
        return True
    from PIL import Image

    try:
        with Image.open(path) as image:
            recorded = image.text.get(FINGERPRINT_KEY)
    except (OSError, SyntaxError, ValueError):  # unreadable: draw it again
        return False
    return recorded == plot_fingerprint(reference, uem)


def plot_diarization(
    hypothesis: Annotation,
    path: Union[str, Path],
    reference: Optional[Annotation] = None,
    uem: Optional[Timeline] = None,
) -> Path:
    """Write the speaker timeline of `hypothesis` (and `reference`) as a PNG.

    Parameters
    ----------
    hypothesis : Annotation
        Diarization to draw.
    path : str or Path
        Output PNG, written atomically.
    reference : Annotation, optional
        Reference diarization: drawn above the hypothesis, and the title gives the DER
        (pyannote.metrics, no collar, overlapped speech scored) and its components.
    uem : Timeline, optional
        Evaluated region: the time axis, and the region the DER is computed on. Defaults
        to the extent of both annotations.

    Returns
    -------
    path : Path
    """
    title = (hypothesis.uri or Path(path).stem) + ("" if hypothesis else "   (no speech found)")
    rows = [("hypothesis", hypothesis)]
    if reference is not None:
        metric = DiarizationErrorRate()
        details = metric(reference, hypothesis, uem=uem, detailed=True)
        title += (f"   DER {100 * details['diarization error rate']:.1f} %  (missed "
                  f"{100 * details['missed detection'] / max(details['total'], 1e-9):.1f}, false alarm "
                  f"{100 * details['false alarm'] / max(details['total'], 1e-9):.1f}, confusion "
                  f"{100 * details['confusion'] / max(details['total'], 1e-9):.1f})")
        mapping = metric.optimal_mapping(reference, hypothesis, uem=uem)
        taken = set(mapping.values())
        mapping.update({label: f"{label}'" for label in hypothesis.labels() if label not in mapping and label in taken})
        rows = [("reference", reference),
                ("hypothesis (speakers renamed after the reference speakers they match)",
                 hypothesis.rename_labels(mapping=mapping))]

    notebook = Notebook()
    extent = (uem if uem else Timeline([*hypothesis.get_timeline(), *(reference or Annotation()).get_timeline()]))
    notebook.crop = extent.extent() if extent else Segment(0.0, 1.0)
    figure = Figure(figsize=(14, 0.6 + 1.6 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, annotation) in zip(axes, rows):
        notebook.plot_annotation(annotation, ax=ax, legend=False)
        ax.set_title(name, loc="left", fontsize="medium")
        ax.set_xlabel("time (s)" if ax is axes[-1] else "")
        handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
        if handles:
            ax.legend([handles[label] for label in sorted(handles)], sorted(handles), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    figure.suptitle(title)
    path = Path(path)
    with atomic_write(path, "wb") as file:
        figure.savefig(file, format="png", dpi=100, metadata={FINGERPRINT_KEY: plot_fingerprint(reference, uem)})
    return path

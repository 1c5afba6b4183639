"""Exploratory data analysis of a speaker diarization protocol, from RTTM / UEM alone.

Audio is never opened. Definitions (those of the VoxConverse paper's statistics, which
give 20.1 h, 4.5 speakers per file and 3.7 % overlap on VoxConverse dev):

- **duration**: sum over files of the duration of the UEM (``annotated``). VoxConverse
  ships no UEM and its audio is not here, so its UEM is [0, end of the last turn];
  this extent-based total is what gives VoxConverse dev's 20.1 h.
- **speech**: duration of the union of all turns (inside the UEM); **silence** is the
  rest of the UEM.
- **overlapped speech**: duration with at least two speakers active, as a share of
  speech (not of the UEM duration).
- **speakers per file**: distinct labels of a file; the speakers of a whole subset are
  counted as file-scoped identities (:func:`~pyannote_resnet50.database.labels.scoped_label`),
  as labels of VoxConverse are local to each file.
- **turns**: the RTTM lines (segments) as annotated, not merged.
- **pauses**: the gaps between consecutive stretches of one speaker's speech (its
  segments merged where they touch or overlap) that no other speaker fills, cropped
  to the UEM. They reveal the labelling convention: annotations that bridge short
  pauses (AMI's, VoxConverse's) have few under 1 s, a precise alignment has many. A
  pipeline's ``segmentation.min_duration_off`` (gaps of one speaker filled) is where
  a model is matched to a corpus's convention.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from .convention import within_speaker_gaps
from .labels import scoped_annotation
from .registry import get_protocol, protocol_subset, protocol_subsets

__all__ = ["SubsetStats", "file_stats", "within_speaker_pauses", "subset_stats", "protocol_stats", "plot_stats"]


@dataclass
class SubsetStats:
    """Statistics of one subset.

    Attributes
    ----------
    protocol, subset : str
    uris : list of str
    duration, speech, overlap : (num_files, ) np.ndarray
        Per file: UEM duration, speech and overlapped speech, in seconds.
    speakers : (num_files, ) np.ndarray
        Number of speakers of each file.
    turns : np.ndarray
        Duration of every turn (RTTM segment) of the subset, seconds.
    pauses : np.ndarray
        Duration of every within-speaker pause of the subset, seconds (module docstring).
    identities : int
        Number of distinct file-scoped speaker identities of the subset.
    """

    protocol: str
    subset: str
    uris: List[str] = field(default_factory=list)
    duration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    speech: np.ndarray = field(default_factory=lambda: np.zeros(0))
    overlap: np.ndarray = field(default_factory=lambda: np.zeros(0))
    speakers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    turns: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pauses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    identities: int = 0

    @property
    def num_files(self) -> int:
        """Number of files."""
        return len(self.uris)

    @property
    def hours(self) -> float:
        """Total (UEM) duration, in hours."""
        return float(self.duration.sum()) / 3600.0

    @property
    def speech_hours(self) -> float:
        """Speech duration, in hours."""
        return float(self.speech.sum()) / 3600.0

    @property
    def overlap_ratio(self) -> float:
        """Overlapped speech / speech."""
        return float(self.overlap.sum() / max(self.speech.sum(), 1e-12))

    @property
    def silence_ratio(self) -> float:
        """Non-speech / total duration."""
        return 1.0 - float(self.speech.sum() / max(self.duration.sum(), 1e-12))

    def short_pauses(self, shorter_than: float = 1.0) -> float:
        """Seconds of within-speaker pauses shorter than `shorter_than` per minute of speech."""
        short = self.pauses[self.pauses < shorter_than].sum()
        return float(60.0 * short / max(self.speech.sum(), 1e-12))

    def speaker_histogram(self) -> Dict[int, int]:
        """{number of speakers: number of files}."""
        return dict(sorted(Counter(self.speakers.tolist()).items()))

    def summary(self) -> Dict[str, float]:
        """The headline figures as a flat dict (rounded as printed)."""
        return {
            "files": self.num_files,
            "hours": round(self.hours, 1),
            "speech_hours": round(self.speech_hours, 1),
            "overlap_percent": round(100 * self.overlap_ratio, 1),
            "silence_percent": round(100 * self.silence_ratio, 1),
            "speakers_per_file": round(float(self.speakers.mean()), 1) if self.num_files else 0.0,
            "max_speakers": int(self.speakers.max()) if self.num_files else 0,
            "identities": self.identities,
            "short_pauses_per_minute": round(self.short_pauses(1.0), 2),
        }

    def format(self) -> str:
        """Human-readable report."""
        if not self.num_files:
            return f"{self.protocol} {self.subset}: no file"
        histogram = "  ".join(f"{n}:{count}" for n, count in self.speaker_histogram().items())
        t = self.turns
        lines = [
            f"{self.protocol}  {self.subset}",
            f"  files                  {self.num_files}",
            f"  duration               {self.hours:.1f} h (UEM), {self.duration.mean() / 60:.1f} min per file "
            f"(min {self.duration.min() / 60:.1f}, max {self.duration.max() / 60:.1f})",
            f"  speech                 {self.speech_hours:.1f} h",
            f"  silence                {100 * self.silence_ratio:.1f} % of duration",
            f"  overlapped speech      {100 * self.overlap_ratio:.1f} % of speech ({self.overlap.sum() / 3600:.2f} h)",
            f"  speakers per file      mean {self.speakers.mean():.1f}, median {np.median(self.speakers):.0f}, "
            f"max {self.speakers.max()}",
            f"  files per #speakers    {histogram}",
            f"  speakers (file-scoped) {self.identities}",
            f"  turns                  {len(t)}, duration mean {t.mean():.1f} s, median {np.median(t):.1f} s, "
            f"p10 {np.percentile(t, 10):.1f} s, p90 {np.percentile(t, 90):.1f} s, max {t.max():.1f} s"
            if len(t)
            else "  turns                  0",
        ]
        q = self.pauses
        if len(q):
            lines.append(
                f"  pauses                 {len(q)} within a speaker, median {np.median(q):.2f} s, under 0.5 s {100 * np.mean(q < 0.5):.0f} %, "
                f"under 1 s {100 * np.mean(q < 1.0):.0f} %; {self.short_pauses(1.0):.2f} s of pauses under 1 s per "
                f"minute of speech"
            )
        return "\n".join(lines)


def file_stats(file: Mapping) -> Dict:
    """Statistics of one protocol file (needs "uri", "annotation", optional "annotated").

    Returns
    -------
    stats : dict
        "duration", "speech", "overlap" (seconds), "speakers" (count), "turns"
        and "pauses" (durations, seconds; module docstring) and "identities"
        (file-scoped labels).
    """
    annotation = scoped_annotation(file)
    annotated = file.get("annotated") if hasattr(file, "get") else None
    if annotated is not None:
        annotation = annotation.crop(annotated, mode="intersection")
        duration = annotated.duration()
    else:
        duration = annotation.get_timeline().extent().end
    return {
        "duration": duration,
        "speech": annotation.get_timeline().support().duration(),
        "overlap": annotation.get_overlap().duration(),
        "speakers": len(annotation.labels()),
        "turns": [segment.duration for segment, _ in annotation.itertracks()],
        "pauses": within_speaker_pauses(annotation),
        "identities": annotation.labels(),
    }


def within_speaker_pauses(annotation) -> List[float]:
    """Durations of the gaps between consecutive stretches of each speaker that no other speaker fills.

    A gap during which someone else speaks is a turn change, not a pause
    (:func:`~pyannote_resnet50.database.convention.within_speaker_gaps`).
    """
    return [gap.duration for _, gap in within_speaker_gaps(annotation)]


def subset_stats(protocol_name: str, files: Iterable[Mapping], subset: str) -> SubsetStats:
    """Gather :func:`file_stats` of `files` into a :class:`SubsetStats`."""
    stats = SubsetStats(protocol=protocol_name, subset=subset)
    rows, turns, pauses, identities = [], [], [], set()
    for file in files:
        row = file_stats(file)
        stats.uris.append(file["uri"])
        rows.append((row["duration"], row["speech"], row["overlap"], row["speakers"]))
        turns.extend(row["turns"])
        pauses.extend(row["pauses"])
        identities.update(row["identities"])
    if rows:
        duration, speech, overlap, speakers = map(np.asarray, zip(*rows))
        stats.duration, stats.speech, stats.overlap = duration, speech, overlap
        stats.speakers = speakers.astype(int)
    stats.turns = np.asarray(turns, dtype=float)
    stats.pauses = np.asarray(pauses, dtype=float)
    stats.identities = len(identities)
    return stats


def protocol_stats(
    name: str,
    subsets: Optional[Sequence[str]] = None,
    database_yml: Union[str, Path, None] = None,
) -> List[SubsetStats]:
    """Validate then describe the subsets of protocol `name`.

    Parameters
    ----------
    name : str
        e.g. "VoxConverse.SpeakerDiarization.Full".
    subsets : sequence of str, optional
        Defaults to every subset the protocol defines.
    database_yml : str or Path, optional
        See :func:`~pyannote_resnet50.database.registry.load_registry`.

    Returns
    -------
    stats : list of SubsetStats

    Raises
    ------
    ValueError
        Unknown protocol or subset, malformed annotation files (see
        :func:`~pyannote_resnet50.database.registry.get_protocol`, which validates them).
    """
    protocol = get_protocol(name, database_yml=database_yml)
    subsets = subsets or protocol_subsets(protocol)
    return [subset_stats(name, protocol_subset(protocol, subset), subset) for subset in subsets]


def plot_stats(stats: Sequence[SubsetStats], path: Union[str, Path]) -> Path:
    """Figure of the statistics of one or more subsets (PNG, matplotlib Agg).

    Panels: files per number of speakers, turn duration distribution, overlapped
    speech per file, file durations.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    stats = [s for s in stats if s.num_files]
    width = 0.8 / max(len(stats), 1)
    for k, s in enumerate(stats):
        label = f"{s.subset} ({s.num_files} files)"
        histogram = s.speaker_histogram()
        axes[0, 0].bar(np.array(list(histogram)) + (k - (len(stats) - 1) / 2) * width, list(histogram.values()),
                       width=width, label=label)
        if len(s.turns):
            bins = np.logspace(np.log10(max(s.turns.min(), 0.05)), np.log10(max(s.turns.max(), 0.1)), 40)
            axes[0, 1].hist(s.turns, bins=bins, histtype="step", weights=np.full(len(s.turns), 1 / len(s.turns)), label=label)
        axes[1, 0].hist(100 * s.overlap / np.maximum(s.speech, 1e-12), bins=20, histtype="step", label=label)
        axes[1, 1].hist(s.duration / 60, bins=20, histtype="step", label=label)
    axes[0, 0].set(xlabel="speakers per file", ylabel="files", title="Speakers per file")
    axes[0, 1].set(xscale="log", xlabel="turn duration (s)", ylabel="share of turns", title="Turn durations")
    axes[1, 0].set(xlabel="overlapped speech (% of speech)", ylabel="files", title="Overlap per file")
    axes[1, 1].set(xlabel="duration (min, UEM)", ylabel="files", title="File durations")
    for ax in axes.flat:
        ax.legend(fontsize=8)
    if stats:
        fig.suptitle(stats[0].protocol)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

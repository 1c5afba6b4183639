"""Labelling conventions: what a reference calls a pause.

Human annotators do not mark every breath: VoxConverse's and AMI's references run one
speaker's turn through most of its short pauses, while a precise alignment (the
simulator's energy detector, Mini's references) leaves every pause of 0.2 s or more
unlabelled. Measured with ``pyannote-resnet50 eda`` as seconds of within-speaker pauses
shorter than 1 s per minute of speech: VoxConverse dev 0.82, VoxConverse test 1.17, AMI 0,
Mini test 9.51 (README, "Exploratory data analysis").

* :func:`within_speaker_gaps`: the gaps between consecutive stretches of one speaker that
  no other speaker fills (a gap during which someone else speaks is a turn change, not a
  pause);
* :func:`bridge_pauses`: label such gaps shorter than a duration as the speaker's speech,
  as annotators do. Gaps between two different speakers are never filled, and no overlap
  is created;
* :func:`relabel_rttm`: the same on an RTTM file.

**The product follows VoxConverse's convention.** :data:`VOXCONVERSE_BRIDGE` (0.9 s) is
the bridge that gives the simulator's precise labels VoxConverse dev's statistic (all
Mini RTTMs: 0.78 s of pauses under 1 s per speech minute at 0.9 s, against 0.82 for
VoxConverse dev; 1.36 at 0.8 s, 0.38 at 0.95 s). The simulator
(:class:`~pyannote_resnet50.database.simulator.SimulationConfig` ``bridge``) and the
Mini references use it; ``Mini.SpeakerDiarization.Precise`` keeps Mini's unbridged labels.

Relabel an RTTM of another convention (pauses bridged, turn changes kept)::

    python -m pyannote_resnet50.database.convention precise.rttm bridged.rttm --bridge 0.9
"""

import argparse
from pathlib import Path
from typing import List, Tuple, Union

from pyannote.core import Annotation, Segment

__all__ = ["VOXCONVERSE_BRIDGE", "within_speaker_gaps", "bridge_pauses", "relabel_rttm"]

#: within-speaker pauses shorter than this (seconds) are speech in VoxConverse's convention
VOXCONVERSE_BRIDGE = 0.9


def within_speaker_gaps(annotation: Annotation) -> List[Tuple[str, Segment]]:
    """(label, gap) of every pause of a speaker that no other speaker fills.

    Parameters
    ----------
    annotation : Annotation

    Returns
    -------
    gaps : list of (label, Segment)
        Sorted by label, then time. A speaker's stretches are merged where they touch
        or overlap before gaps are taken.
    """
    speech = annotation.get_timeline().support()
    gaps = []
    for label in sorted(annotation.labels(), key=str):
        stretches = list(annotation.label_timeline(label, copy=False).support())
        for before, after in zip(stretches[:-1], stretches[1:]):
            gap = Segment(before.end, after.start)
            if not speech.crop(gap, mode="intersection"):
                gaps.append((label, gap))
    return gaps


def bridge_pauses(annotation: Annotation, max_pause: float) -> Annotation:
    """Label a speaker's pauses shorter than `max_pause` as that speaker's speech.

    Parameters
    ----------
    annotation : Annotation
    max_pause : float
        Pauses (:func:`within_speaker_gaps`) strictly shorter than this, in seconds, are
        filled. 0 returns a copy of `annotation`.

    Returns
    -------
    bridged : Annotation
        Every speaker's speech as one track per stretch (``support`` of each label), the
        filled pauses included. Other speakers' speech and pauses between two different
        speakers are left as they are.
    """
    if max_pause < 0:
        raise ValueError(f"max_pause must be >= 0 seconds, got {max_pause}.")
    bridged = annotation.copy()
    if max_pause == 0:
        return bridged
    for label, gap in within_speaker_gaps(annotation):
        if gap.duration < max_pause:
            bridged[gap, f"bridge{gap.start:.6f}"] = label
    # one track per stretch: a filled pause joins the two stretches around it
    return bridged.support()


def relabel_rttm(
    source: Union[str, Path], target: Union[str, Path], max_pause: float = VOXCONVERSE_BRIDGE
) -> Path:
    """Write `source` (an RTTM) to `target` with every file's pauses bridged.

    Parameters
    ----------
    source, target : str or Path
        RTTM files (`target` may be `source`: it is written after `source` is read).
    max_pause : float, optional
        See :func:`bridge_pauses`. Defaults to :data:`VOXCONVERSE_BRIDGE`.

    Returns
    -------
    target : Path
    """
    from pyannote.database.util import load_rttm

    source, target = Path(source), Path(target)
    annotations = load_rttm(source)  # {uri: Annotation}, in file order
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w") as rttm:
        for annotation in annotations.values():
            bridge_pauses(annotation, max_pause).write_rttm(rttm)
    return target


def main(argv=None) -> int:
    """``python -m pyannote_resnet50.database.convention SOURCE TARGET [--bridge SECONDS]``"""
    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.database.convention",
        description="Relabel an RTTM in VoxConverse's convention: a speaker's pauses shorter than "
        "--bridge that no one else fills become speech; pauses between two speakers are kept.",
    )
    parser.add_argument("source", type=Path, help="RTTM to relabel")
    parser.add_argument("target", type=Path, help="RTTM to write (may be SOURCE)")
    parser.add_argument("--bridge", type=float, default=VOXCONVERSE_BRIDGE,
                        help=f"seconds (default: {VOXCONVERSE_BRIDGE}, VoxConverse's convention)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"{args.source} is not a file.")
    if args.bridge < 0:
        parser.error(f"--bridge is a duration in seconds (>= 0), got {args.bridge}.")
    print(relabel_rttm(args.source, args.target, args.bridge))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

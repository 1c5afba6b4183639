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
  is created.
"""

from typing import List, Tuple

from pyannote.core import Annotation, Segment

__all__ = ["within_speaker_gaps", "bridge_pauses"]


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

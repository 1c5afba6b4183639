"""Labelling conventions: a speaker's short pauses bridged, turn changes kept."""

import pytest
from pyannote.core import Annotation, Segment

from pyannote_resnet50.database.convention import bridge_pauses, within_speaker_gaps
from pyannote_resnet50.database.eda import within_speaker_pauses


def _annotation(*turns) -> Annotation:
    annotation = Annotation(uri="x")
    for k, (start, end, label) in enumerate(turns):
        annotation[Segment(start, end), k] = label
    return annotation


def test_bridge_fills_a_speakers_short_pause_and_keeps_turn_changes():
    """A 0.3 s pause within A is bridged; the 0.3 s pause between A and B is not; a 2 s pause
    of B stays; B's gap filled by A's speech is a turn change, never bridged (no overlap made)."""
    reference = _annotation(
        (0.0, 2.0, "A"), (2.3, 4.0, "A"),  # A pauses 0.3 s
        (4.3, 6.0, "B"),  # A -> B after 0.3 s
        (8.0, 9.0, "B"),  # B pauses 2 s
        (9.2, 9.6, "A"),  # B -> A -> B: B's 0.6 s gap is filled by A
        (9.8, 11.0, "B"),
    )
    bridged = bridge_pauses(reference, 1.0)
    assert list(bridged.label_timeline("A")) == [Segment(0.0, 4.0), Segment(9.2, 9.6)]
    assert list(bridged.label_timeline("B")) == [Segment(4.3, 6.0), Segment(8.0, 9.0), Segment(9.8, 11.0)]
    assert not bridged.get_overlap()
    # the pause statistic of the EDA sees the bridged pause go
    assert sorted(round(p, 3) for p in within_speaker_pauses(reference)) == [0.3, 2.0]
    assert [round(p, 3) for p in within_speaker_pauses(bridged)] == [2.0]
    assert [label for label, _ in within_speaker_gaps(reference)] == ["A", "B"]


def test_bridge_threshold_is_strict_and_zero_is_identity():
    reference = _annotation((0.0, 1.0, "A"), (1.5, 2.0, "A"))
    assert len(bridge_pauses(reference, 0.5)) == 2
    assert len(bridge_pauses(reference, 0.51)) == 1
    assert bridge_pauses(reference, 0.0) == reference
    with pytest.raises(ValueError, match="max_pause"):
        bridge_pauses(reference, -1.0)

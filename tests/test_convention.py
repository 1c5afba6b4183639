"""Labelling conventions: a speaker's short pauses bridged, turn changes kept."""

import pytest
from pyannote.core import Annotation, Segment

from conftest import annotation_of

from pyannote_resnet50.database.convention import bridge_pauses, within_speaker_gaps
from pyannote_resnet50.database.eda import within_speaker_pauses


def _annotation(*turns) -> Annotation:
    return annotation_of("x", turns)


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


def test_relabel_rttm_bridges_a_pause_and_keeps_a_turn_change(tmp_path):
    """The relabelling of Mini: a 0.3 s pause within a speaker becomes speech, a 0.3 s pause
    between two speakers stays a pause, a 1.5 s pause stays; every file of the RTTM is done."""
    from pyannote.database.util import load_rttm

    from pyannote_resnet50.database.convention import relabel_rttm

    source = tmp_path / "precise.rttm"
    source.write_text(
        "SPEAKER f1 1 0.000 2.000 <NA> <NA> spk00 <NA> <NA>\n"
        "SPEAKER f1 1 2.300 1.700 <NA> <NA> spk00 <NA> <NA>\n"  # spk00 pauses 0.3 s
        "SPEAKER f1 1 4.300 1.700 <NA> <NA> spk01 <NA> <NA>\n"  # spk00 -> spk01 after 0.3 s
        "SPEAKER f1 1 7.500 1.000 <NA> <NA> spk01 <NA> <NA>\n"  # spk01 pauses 1.5 s
        "SPEAKER f2 1 1.000 1.000 <NA> <NA> spk00 <NA> <NA>\n"
        "SPEAKER f2 1 2.500 1.000 <NA> <NA> spk00 <NA> <NA>\n"  # 0.5 s pause
    )
    relabelled = load_rttm(relabel_rttm(source, tmp_path / "bridged.rttm"))
    f1, f2 = relabelled["f1"], relabelled["f2"]
    assert list(f1.label_timeline("spk00")) == [Segment(0.0, 4.0)]
    assert list(f1.label_timeline("spk01")) == [Segment(4.3, 6.0), Segment(7.5, 8.5)]
    assert list(f1.get_timeline().support()) == [Segment(0.0, 4.0), Segment(4.3, 6.0), Segment(7.5, 8.5)]
    assert list(f2.label_timeline("spk00")) == [Segment(1.0, 3.5)]
    # --bridge 0.4 keeps the 0.5 s pause; the CLI refuses a negative bridge
    from pyannote_resnet50.database.convention import main

    assert main([str(source), str(tmp_path / "b04.rttm"), "--bridge", "0.4"]) == 0
    assert len(load_rttm(tmp_path / "b04.rttm")["f2"]) == 2
    with pytest.raises(SystemExit):
        main([str(source), str(tmp_path / "x.rttm"), "--bridge", "-1"])


def test_mini_references_follow_voxconverse_convention():
    """Mini's committed references are its precise labels bridged at VOXCONVERSE_BRIDGE: no
    within-speaker pause under 0.9 s is left, every pause between two speakers is kept, and the
    EDA statistic (pauses under 1 s per speech minute) is VoxConverse dev's (0.82) within 30 %
    where the precise labels have ten times more."""
    import numpy as np
    from pyannote.database.util import load_rttm

    from pyannote_resnet50.database.convention import VOXCONVERSE_BRIDGE
    from pyannote_resnet50.database.mini import MINI_DIR, SUBSETS

    short = {"precise": 0.0, "bridged": 0.0}
    speech = 0.0
    for subset in SUBSETS:
        precise = load_rttm(MINI_DIR / "precise" / f"{subset}.rttm")
        bridged = load_rttm(MINI_DIR / f"{subset}.rttm")
        assert sorted(precise) == sorted(bridged)
        for uri in precise:
            expected = bridge_pauses(precise[uri], VOXCONVERSE_BRIDGE)
            for label in expected.labels():
                a, b = (x.label_timeline(label).support(collar=2e-3) for x in (expected, bridged[uri]))
                assert len(a) == len(b)
                assert all(abs(x.start - y.start) < 2e-3 and abs(x.end - y.end) < 2e-3 for x, y in zip(a, b))
            assert min(within_speaker_pauses(bridged[uri]) or [1.0]) >= VOXCONVERSE_BRIDGE - 2e-3
            # silence where no one speaks in the precise labels and no pause was bridged stays silence
            gaps = {gap for _, gap in within_speaker_gaps(precise[uri]) if gap.duration < VOXCONVERSE_BRIDGE}
            silence = precise[uri].get_timeline().support().gaps()
            for segment in silence:
                if not any(segment.intersects(gap) for gap in gaps):
                    assert not bridged[uri].crop(segment.__class__(segment.start + 2e-3, segment.end - 2e-3))
            speech += bridged[uri].get_timeline().support().duration()
            for key, annotation in (("precise", precise[uri]), ("bridged", bridged[uri])):
                pauses = np.array(within_speaker_pauses(annotation))
                short[key] += pauses[pauses < 1.0].sum()
    per_minute = {key: value / (speech / 60) for key, value in short.items()}
    assert per_minute["bridged"] == pytest.approx(0.82, rel=0.3)
    assert per_minute["precise"] > 5.0


def test_simulator_bridges_by_default(sources):
    """The simulator labels speech in VoxConverse's convention unless told otherwise: its
    default labels are its precise ones bridged at VOXCONVERSE_BRIDGE, with the same audio."""
    import numpy as np

    from pyannote_resnet50.database.convention import VOXCONVERSE_BRIDGE
    from pyannote_resnet50.database.simulator import SimulationConfig, rttm_lines, simulate_recording

    assert SimulationConfig().bridge == SimulationConfig.voxconverse().bridge == VOXCONVERSE_BRIDGE
    default = simulate_recording("r", sources, 90, seed=4)
    precise = simulate_recording("r", sources, 90, seed=4, config=SimulationConfig(bridge=0.0))
    np.testing.assert_array_equal(default.waveform, precise.waveform)
    assert rttm_lines(default.annotation) == rttm_lines(
        bridge_pauses(precise.annotation, VOXCONVERSE_BRIDGE).rename_tracks(generator="string")
    )
    assert any(p < VOXCONVERSE_BRIDGE for p in within_speaker_pauses(precise.annotation))
    assert all(p >= VOXCONVERSE_BRIDGE - 1e-6 for p in within_speaker_pauses(default.annotation))


def test_simulate_cli_bridge_default_is_voxconverse():
    from pyannote_resnet50.cli.simulate import main
    from pyannote_resnet50.database.convention import VOXCONVERSE_BRIDGE

    with pytest.raises(SystemExit):
        main(["/tmp/unused", "--bridge", "-0.5"])
    import argparse
    import pyannote_resnet50.cli.simulate as simulate

    captured = {}
    original = argparse.ArgumentParser.parse_args

    def spy(self, args=None, namespace=None):
        namespace = original(self, args, namespace)
        captured["bridge"] = namespace.bridge
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = spy
    try:
        with pytest.raises(SystemExit):
            simulate.main(["/tmp/unused"])
    finally:
        argparse.ArgumentParser.parse_args = original
    assert captured["bridge"] == VOXCONVERSE_BRIDGE

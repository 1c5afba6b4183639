"""EDA: VoxConverse dev figures, exact statistics on a hand-made file, figure, CLI, clear errors."""

import pytest
from pyannote.core import Segment, Timeline

from conftest import annotation_of
from pyannote_resnet50.cli.eda import main as eda_main
from pyannote_resnet50.database.eda import file_stats, plot_stats, protocol_stats, subset_stats


@pytest.fixture(scope="module")
def voxconverse_dev(database_yml):
    (stats,) = protocol_stats("VoxConverse.SpeakerDiarization.Full", subsets=["train"], database_yml=database_yml)
    return stats


def test_voxconverse_dev_figures(voxconverse_dev):
    """216 files, 20.1 h (sum of [0, last turn end]), 4.5 speakers per file, 3.7 % overlap (of speech)."""
    summary = voxconverse_dev.summary()
    assert summary["files"] == 216
    assert summary["hours"] == 20.1
    assert summary["speakers_per_file"] == 4.5
    assert summary["overlap_percent"] == 3.7
    assert summary["max_speakers"] == 20
    # file-scoped identities: the sum of speakers per file, not the number of distinct labels
    assert voxconverse_dev.identities == voxconverse_dev.speakers.sum() == 972
    assert voxconverse_dev.speaker_histogram()[1] == 22
    text = voxconverse_dev.format()
    assert "216" in text and "20.1 h" in text and "3.7 %" in text


def _file(uri, turns, end):
    return {"uri": uri, "annotation": annotation_of(uri, turns), "annotated": Timeline([Segment(0, end)], uri=uri), "scope": "file"}


def test_exact_statistics():
    """Hand-made files: durations, speech, overlap and file-scoped speaker counts are exact."""
    a = _file("a", [(0, 4, "spk00"), (3, 6, "spk01"), (8, 9, "spk00")], end=10)
    b = _file("b", [(1, 2, "spk00"), (12, 30, "spk00")], end=20)  # last turn crosses the UEM
    row = file_stats(a)
    assert row["duration"] == 10 and row["speech"] == 7 and row["overlap"] == 1 and row["speakers"] == 2
    assert sorted(row["turns"]) == [1, 3, 4]
    stats = subset_stats("P", [a, b], "test")
    assert stats.num_files == 2 and stats.identities == 3  # spk00 of a and spk00 of b differ
    assert stats.duration.sum() == 30 and stats.speech.sum() == 7 + 1 + 8  # b cropped to its UEM
    assert stats.overlap_ratio == pytest.approx(1 / 16)
    assert stats.silence_ratio == pytest.approx(1 - 16 / 30)
    assert stats.speaker_histogram() == {1: 1, 2: 1}
    # pauses: spk01 speaks during spk00's gap 4-8 of a (a turn change, no pause);
    # spk00 of b is silent from 2 to 12, when no one speaks (a 10 s pause)
    assert row["pauses"] == []
    assert stats.pauses.tolist() == [10.0]


def test_within_speaker_pauses():
    """A gap another speaker fills is a turn change, not a pause; touching segments are one stretch."""
    c = _file("c", [(0, 2, "A"), (1.5, 3, "B"), (3.5, 5, "A"), (5.4, 6, "A"), (6, 7, "A"), (7.5, 8, "B"), (9, 10, "A")], end=10)
    row = file_stats(c)
    assert row["pauses"] == pytest.approx([0.4])
    stats = subset_stats("P", [c], "test")
    assert stats.short_pauses(1.0) == pytest.approx(60 * 0.4 / stats.speech.sum())
    assert stats.short_pauses(0.3) == 0.0
    assert "1 within a speaker, median 0.40 s" in stats.format()


def test_figure(voxconverse_dev, tmp_path):
    path = plot_stats([voxconverse_dev], tmp_path / "eda.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_cli_on_mini(tmp_path, capsys, database_yml):
    """`pyannote-resnet50 eda` prints every requested subset and writes the figure (no audio needed)."""
    figure = tmp_path / "mini.png"
    args = ["Mini.SpeakerDiarization.Simulated", "--subset", "development", "--subset", "test"]
    assert eda_main(args + ["--figure", str(figure), "--database-yml", str(database_yml)]) == 0
    out = capsys.readouterr().out
    assert "Mini.SpeakerDiarization.Simulated  development" in out and "files                  15" in out
    assert "overlapped speech" in out and "train" not in out
    assert figure.is_file()


def test_cli_errors_are_clear(make_database, capsys):
    """A malformed RTTM or an unknown protocol: exit code 1 and the validation message."""
    yml = make_database("f1\n", "SPEAKER f1 1 0.0 1.0 <NA> <NA> spk00 <NA> <NA>\nSPEAKER f1 1 zero\n", name="Bad")
    assert eda_main(["Custom.SpeakerDiarization.Bad", "--database-yml", str(yml)]) == 1
    err = capsys.readouterr().err
    assert "test.rttm, line 2: expected 10" in err
    with pytest.raises(ValueError, match=r"uri 'ghost' .* has no SPEAKER turn"):
        protocol_stats("Custom.SpeakerDiarization.Ghost", database_yml=make_database("ghost\n", "", name="Ghost"))
    assert eda_main(["No.Such.Protocol", "--database-yml", str(yml)]) == 1
    assert "unknown protocol 'No.Such.Protocol'" in capsys.readouterr().err

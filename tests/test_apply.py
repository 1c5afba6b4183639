"""`pyannote-resnet50 apply`: per-file RTTMs in OUTPUT.d/, resumption, shards, plots, clear errors.

The shipped default pipeline on AMI.SpeakerDiarization.Debug development (2 x 30 s).
"""

import shutil

import pytest
import torch
from pyannote.database.util import load_rttm

from pyannote_resnet50.cli import main as cli

torch.set_num_threads(1)

PROTOCOL = "AMI.SpeakerDiarization.Debug"
URIS = {"dev00", "dev01"}


def apply(*args) -> int:
    return cli(["apply", "default", PROTOCOL, "--subset", "development", *map(str, args)])


def test_apply_plot_and_rerun(tmp_path, capsys):
    output = tmp_path / "hyp.rttm"
    assert apply("--output", output, "--plot") == 0
    captured = capsys.readouterr()
    assert set(load_rttm(output)) == URIS
    folder = tmp_path / "hyp.rttm.d"
    assert {p.name for p in folder.glob("dev*")} == {f"{uri}.{ext}" for uri in URIS for ext in ("rttm", "png")}
    assert "DER" in captured.out and "over 2 files" in captured.out
    assert output.read_text() == "".join((folder / f"{uri}.rttm").read_text() for uri in sorted(URIS))

    mtimes = {p: p.stat().st_mtime_ns for p in folder.glob("dev*")}
    output.unlink()
    assert apply("--output", output, "--plot") == 0
    assert "skipping 2 of 2 files already done" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in folder.glob("dev*")} == mtimes
    assert set(load_rttm(output)) == URIS  # assembled again from the per-file RTTMs


def test_shards_then_assembly(tmp_path, capsys):
    output = tmp_path / "hyp.rttm"
    assert apply("--output", output, "--shard", "1/2") == 0
    assert not output.exists() and "not written" in capsys.readouterr().err
    assert [p.stem for p in (tmp_path / "hyp.rttm.d").glob("*.rttm")] == ["dev00"]
    assert apply("--output", output, "--shard", "2/2") == 0
    assert set(load_rttm(output)) == URIS


def test_unknown_or_missing_subset(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["apply", "default", PROTOCOL, "--subset", "dev", "--output", str(tmp_path / "h.rttm")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'train', 'development', 'test'" in err
    # VoxConverse Full has no development subset: the valid ones are named
    assert cli(["apply", "default", "VoxConverse.SpeakerDiarization.Full", "--subset", "development",
                "--output", str(tmp_path / "h.rttm")]) == 2
    assert "no 'development' subset: use one of train, test" in capsys.readouterr().err
    assert not (tmp_path / "h.rttm").exists() and not (tmp_path / "h.rttm.d").exists()


def test_missing_audio_is_reported_and_others_go_on(tiny_corpus, tmp_path, restore_registry, capsys):
    corpus = shutil.copytree(tiny_corpus["dir"], tmp_path / "tiny")
    (corpus / "wav" / "tiny0.wav").unlink()
    output = tmp_path / "hyp.rttm"
    assert cli(["apply", "default", tiny_corpus["protocol"], "--database", str(corpus / "database.yml"),
                "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "tiny0" in err and "1 file failed" in err
    assert (tmp_path / "hyp.rttm.d" / "tiny1.rttm").is_file()
    assert not output.exists() and "not written" in err


def test_output_that_is_a_folder_or_whose_folder_is_a_file(tmp_path, capsys):
    """Refused before any work (exit code 2), naming the path in the way"""
    (tmp_path / "hyp.rttm").mkdir()
    assert apply("--output", tmp_path / "hyp.rttm") == 2
    assert "is a folder: give the path of the RTTM file" in capsys.readouterr().err
    (tmp_path / "other.rttm.d").write_text("a file\n")
    assert apply("--output", tmp_path / "other.rttm") == 2
    assert "the per-file folder of --output" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hyp.rttm", "other.rttm.d"]

"""`pyannote-resnet50 diarize` and the crash-safe batch machinery it shares with `apply`.

Real pipeline runs use the shipped default on copies of pyannote's 30 s sample (about
0.5 s each); option plumbing uses a fake pipeline.
"""

import argparse
import json
import os
import shutil
import warnings

import pytest
import soundfile as sf
import torch
from pyannote.audio.sample import SAMPLE_FILE
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm

from pyannote_resnet50.cli import diarize
from pyannote_resnet50.core.atomic import atomic_write
from pyannote_resnet50.core.batch import check_pipeline_options, parse_shard, select_shard

torch.set_num_threads(1)

SAMPLE_WAV = SAMPLE_FILE["audio"]
SAMPLE_RTTM = SAMPLE_WAV.with_suffix(".rttm")


def copies(folder, *names):
    """Copies of the sample named `names` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SAMPLE_WAV, folder / name)
    return [folder / name for name in names]


def run(*args) -> int:
    return diarize.main([str(arg) for arg in args])


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a.rttm"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as file:
            file.write("SPEAKER a 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
            raise RuntimeError("killed while writing")
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temporary file

    target.write_text("previous\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as file:
            file.write("half")
            raise RuntimeError
    assert target.read_text() == "previous\n" and list(tmp_path.iterdir()) == [target]

    with atomic_write(target) as file:
        file.write("new\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failing_rttm_write_then_resume(tmp_path, monkeypatch, capsys):
    """A crash while writing one file's RTTM leaves no RTTM for it; the rerun completes it."""
    (wav,) = copies(tmp_path / "audio", "a.wav")
    out = tmp_path / "out"

    def crash(self, file):
        file.write("SPEAKER a 1 0.000 1.000 <NA> <NA> SPEAKER_00 <NA> <NA>\n")
        raise OSError("disk full")

    monkeypatch.setattr(Annotation, "write_rttm", crash)
    assert run(wav, "--output-dir", out) == 1
    assert sorted(p.name for p in out.iterdir()) == [".run.json"]
    err = capsys.readouterr().err
    assert f"FAILED {wav}: OSError: disk full" in err
    monkeypatch.undo()
    assert run(wav, "--output-dir", out) == 0
    assert "a" in load_rttm(out / "a.rttm")


def test_diarize_plot_reference_and_rerun_skips(tmp_path, capsys):
    """Folder input, RTTM + PNG per file, reference DER, and a rerun that recomputes nothing."""
    folder = tmp_path / "audio"
    copies(folder / "sub", "sample.wav")
    folder.mkdir(exist_ok=True)
    sf.write(folder / "other.flac", *sf.read(SAMPLE_WAV))  # another format
    out = tmp_path / "out"
    assert run(folder, "--output-dir", out, "--plot", "--reference", SAMPLE_RTTM) == 0
    captured = capsys.readouterr()
    assert {p.name for p in out.iterdir()} == {".run.json", "sample.rttm", "sample.png", "other.rttm", "other.png"}
    assert set(load_rttm(out / "other.rttm")) == {"other"}
    assert set(load_rttm(out / "sample.rttm")) == {"sample"}
    assert "DER" in captured.out and "over 1 file with a reference" in captured.out
    assert "no reference" in captured.err and "other" in captured.err

    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.*")}
    assert run(folder, "--output-dir", out, "--plot") == 0
    assert "skipping 2 of 2 files already done" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.*")} == mtimes

    # a missing PNG is drawn again from the existing RTTM, which is not recomputed
    (out / "other.png").unlink()
    assert run(folder, "--output-dir", out, "--plot") == 0
    assert (out / "other.png").is_file()
    assert (out / "other.rttm").stat().st_mtime_ns == mtimes["other.rttm"]

    # other settings are refused, unless --overwrite
    assert run(folder, "--output-dir", out, "--num-speakers", "2") == 2
    assert "--overwrite" in capsys.readouterr().err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run(folder, "--output-dir", out, "--num-speakers", "2", "--overwrite") == 0
    assert (out / "other.rttm").stat().st_mtime_ns != mtimes["other.rttm"]
    # the new setting reached the run: two speakers, or one and the warning that says why (the
    # clustering splits no voice far below its threshold: tests/test_speaker_count.py)
    assert json.loads((out / ".run.json").read_text())["num_speakers"] == 2
    num_found = len(load_rttm(out / "other.rttm")["other"].labels())
    assert num_found == 2 or (num_found == 1 and any(
        str(w.message).startswith("other: 1 speaker in the output, although num_speakers=2 was requested")
        for w in caught)), [str(w.message) for w in caught]


def test_corrupt_file_among_good_ones(tmp_path, capsys):
    good = copies(tmp_path / "audio", "good1.wav", "good2.wav")
    bad = tmp_path / "audio" / "bad.wav"
    bad.write_bytes(b"RIFF but not really a wav file")
    out = tmp_path / "out"
    assert run(good[0], bad, good[1], "--output-dir", out) == 1
    err = capsys.readouterr().err
    assert f"FAILED {bad}" in err and "1 file failed" in err
    assert (out / "good1.rttm").is_file() and (out / "good2.rttm").is_file()
    assert not (out / "bad.rttm").exists()


def test_workers_in_parallel_processes(tmp_path, capsys):
    """Two spawned worker processes; a failing file in one does not stop the other."""
    (good,) = copies(tmp_path / "audio", "good.wav")
    bad = tmp_path / "audio" / "bad.wav"
    bad.write_bytes(b"garbage")
    out = tmp_path / "out"
    assert run(good, bad, "--output-dir", out, "--workers", "2", "--plot") == 1
    assert f"FAILED {bad}" in capsys.readouterr().err
    assert (out / "good.rttm").is_file() and (out / "good.png").is_file()


def test_shards_partition_the_files(tmp_path):
    names = [f"f{i}.wav" for i in range(3)]
    files = copies(tmp_path / "audio", *names)
    assert select_shard(files, (1, 2)) == files[0::2] and select_shard(files, (2, 2)) == files[1::2]
    out = tmp_path / "out"
    assert run(tmp_path / "audio", "--output-dir", out, "--shard", "1/2") == 0
    first = {p.stem for p in out.glob("*.rttm")}
    assert run(tmp_path / "audio", "--output-dir", out, "--shard", "2/2") == 0
    second = {p.stem for p in out.glob("*.rttm")} - first
    assert first == {"f0", "f2"} and second == {"f1"}

    assert parse_shard("1/1") == (1, 1)
    for text in ["0/2", "3/2", "x", "1-2", "1/0", "0/0", "1/-2"]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse_shard(text)
    # N = 0 is the fault there, not I
    with pytest.raises(argparse.ArgumentTypeError, match="N, the number of shards, must be at least 1"):
        parse_shard("1/0")


def test_output_dir_that_is_a_file(tmp_path, capsys):
    """Refused before any work (exit code 2), naming the file; so is a folder under a file"""
    (wav,) = copies(tmp_path / "audio", "a.wav")
    taken = tmp_path / "taken"
    taken.write_text("a file\n")
    for out in (taken, taken / "sub"):
        assert run(wav, "--output-dir", out) == 2
        err = capsys.readouterr().err
        assert f"--output-dir '{out}'" in err and "a file, not a folder" in err and "Traceback" not in err
    assert taken.read_text() == "a file\n"


def test_inputs_globs_folders_and_refusals(tmp_path, capsys):
    audio = tmp_path / "audio"
    copies(audio / "a" / "deep", "x.wav")
    copies(audio, "y.flac", ".hidden.wav")
    (audio / "notes.txt").write_text("not audio")
    copies(audio / ".cache", "z.wav")
    assert [p.name for p in diarize.collect_audio([str(audio)])] == ["x.wav", "y.flac"]
    assert [p.name for p in diarize.collect_audio([str(audio / "**" / "*.wav")])] == ["x.wav"]
    # the same file named twice is diarized once
    assert len(diarize.collect_audio([str(audio), str(audio / "y.flac")])) == 2
    with pytest.raises(ValueError, match="no such file or folder"):
        diarize.collect_audio([str(tmp_path / "missing.wav")])
    with pytest.raises(ValueError, match="no audio file matches"):
        diarize.collect_audio([str(audio / "*.mp3")])
    assert "ffmpeg" in diarize._hint(audio / "talk.m4a") and diarize._hint(audio / "talk.opus") == ""

    out = tmp_path / "out"
    spaced = copies(tmp_path / "spaced", "my talk.wav")
    assert run(*spaced, "--output-dir", out) == 2
    assert "whitespace" in capsys.readouterr().err and not out.exists()
    same = copies(tmp_path / "one", "talk.wav") + copies(tmp_path / "two", "talk.flac")
    assert run(*same, "--output-dir", out) == 2
    err = capsys.readouterr().err
    assert "same name" in err and str(same[0]) in err and str(same[1]) in err and not out.exists()
    assert run(audio, "--output-dir", out, "--pipeline", tmp_path / "nope.yaml") == 2
    assert "does not exist" in capsys.readouterr().err


class FakePipeline:
    """Records the call-time options it is given."""

    def __init__(self):
        self.calls = []

    def to(self, device):
        return self

    def apply(self, file, num_speakers=None, min_speakers=None, max_speakers=None, exclusive=False, hook=None):
        raise NotImplementedError

    def __call__(self, file, **options):
        self.calls.append(options)
        annotation = Annotation(uri=file["uri"])
        annotation[Segment(0.0, 1.0)] = "A"
        return annotation


class FakePipelineWithoutExclusive(FakePipeline):
    def apply(self, file, num_speakers=None, min_speakers=None, max_speakers=None, hook=None):
        raise NotImplementedError


def test_options_reach_the_pipeline(tmp_path, monkeypatch, capsys):
    files = copies(tmp_path / "audio", "a.wav")
    pipeline = FakePipeline()
    monkeypatch.setattr(diarize, "load_pipeline", lambda name: pipeline)
    assert run(*files, "--output-dir", tmp_path / "out", "--min-speakers", "2", "--max-speakers", "3",
               "--exclusive") == 0
    (options,) = pipeline.calls
    assert options["exclusive"] is True and options["min_speakers"] == 2 and options["max_speakers"] == 3
    assert "num_speakers" not in options and "hook" in options

    monkeypatch.setattr(diarize, "load_pipeline", lambda name: FakePipelineWithoutExclusive())
    assert run(*files, "--output-dir", tmp_path / "out2", "--exclusive") == 2
    assert "exclusive" in capsys.readouterr().err
    with pytest.raises(ValueError, match="drop --exclusive"):
        check_pipeline_options(FakePipelineWithoutExclusive(), {"exclusive": True})
    with pytest.raises(SystemExit):
        run(*files, "--output-dir", tmp_path / "out3", "--min-speakers", "3", "--max-speakers", "2")
    with pytest.raises(SystemExit):
        run(*files, "--output-dir", tmp_path / "out3", "--num-speakers", "0")

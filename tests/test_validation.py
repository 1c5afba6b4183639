"""Bad input at every entry point: annotation files, subsets, missing and non-finite audio."""

import re

import numpy as np
import pytest
import soundfile as sf
from pyannote.core import Segment
from pyannote.database import FileFinder
from pyannote.database.registry import Registry

from pyannote_resnet50.core.io import NonFiniteAudioError, check_audio, crop_audio, load_audio
from pyannote_resnet50.database import validate
from pyannote_resnet50.database.registry import get_protocol, load_registry, protocol_subset, protocol_subsets

GOOD = "SPEAKER f1 1 0.000 1.500 <NA> <NA> spk00 <NA> <NA>\n"
RTTM_FIX = re.escape("Rewrite it as 'SPEAKER <uri> 1 <onset> <duration> <NA> <NA> <label> <NA> <NA>'")

RTTM_CASES = {
    "seven-fields": ("SPEAKER f1 1 2.0 1.0 <NA> spk01\n", rf"line 2: expected 10 .* found 7: .*\. {RTTM_FIX}"),
    "zero-duration": ("SPEAKER f1 1 2.0 0.000 <NA> <NA> spk01 <NA> <NA>\n",
                      r"line 2: duration \(field 5\) '0.000' should be a finite number > 0: correct it, or remove"),
    "negative-duration": ("SPEAKER f1 1 2.0 -1.0 <NA> <NA> spk01 <NA> <NA>\n",
                          r"line 2: duration \(field 5\) '-1.0' should be a finite number > 0"),
    "text-duration": ("SPEAKER f1 1 2.0 abc <NA> <NA> spk01 <NA> <NA>\n",
                      r"line 2: duration \(field 5\) 'abc' is not a number: write it in seconds"),
    "text-onset": ("SPEAKER f1 1 1,5 1.0 <NA> <NA> spk01 <NA> <NA>\n",
                   r"line 2: start time \(field 4\) '1,5' is not a number: write it in seconds"),
    "no-label": ("SPEAKER f1 1 2.0 1.0 <NA> <NA> <NA> <NA> <NA>\n",
                 r"line 2: missing speaker label \(field 8\): write the speaker's label there"),
}


@pytest.mark.parametrize("case", list(RTTM_CASES))
def test_bad_rttm_line(case, make_database, tmp_path):
    """get_protocol (optimize, apply, EDA) names the file, the line and the fix"""
    line, message = RTTM_CASES[case]
    yml = make_database("f1\n", GOOD + line, name="Bad")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "test.rttm")) + ", " + message):
        get_protocol("Custom.SpeakerDiarization.Bad", yml)


@pytest.mark.parametrize("uem,message", [
    ("f1 1 0.0\n", r"test\.uem, line 1: expected 4 UEM fields .* found 3: 'f1 1 0.0'\. Rewrite it as '<uri> 1"),
    ("f1 1 5.0 0.0\n", r"test\.uem, line 1: end time 0.0 is not after start time 5.0"),
    ("f1 1 x 10.0\n", r"test\.uem, line 1: start time \(field 3\) 'x' is not a number"),
    ("f2 1 0.0 10.0\n", r"uri 'f1' \(listed in .*test\.lst\) has no line in UEM file .*test\.uem\. Add its scored"),
], ids=["three-fields", "empty-region", "text-start", "missing-uri"])
def test_bad_uem(uem, message, make_database):
    yml = make_database("f1\n", GOOD, uem=uem, name="BadUem")
    with pytest.raises(ValueError, match=message):
        get_protocol("Custom.SpeakerDiarization.BadUem", yml)


def test_listed_uri_without_turns_is_an_error(make_database, tmp_path):
    """Not silently 'no speech': the uri, the uri list, the RTTM and both fixes are named"""
    yml = make_database("f1\nsilent\n", GOOD, uem="f1 1 0.0 60.0\nsilent 1 0.0 60.0\n", name="Silent")
    with pytest.raises(ValueError, match=rf"uri 'silent' \(listed in {tmp_path}/test\.lst\) has no SPEAKER turn in "
                                         rf"{tmp_path}/test\.rttm\. Add its turns .* or remove 'silent' from"):
        get_protocol("Custom.SpeakerDiarization.Silent", yml)


def test_validation_is_cached_per_file_version(make_database, tmp_path, monkeypatch):
    """Validating again reads no file; a modified file is read again"""
    yml = make_database("f1\n", GOOD, name="Cached")
    get_protocol("Custom.SpeakerDiarization.Cached", yml)
    reads = []
    lines = validate._lines
    monkeypatch.setattr(validate, "_lines", lambda path: reads.append(path) or lines(path))
    get_protocol("Custom.SpeakerDiarization.Cached", yml)
    assert reads == []
    with open(tmp_path / "test.rttm", "a") as rttm:
        rttm.write("SPEAKER f1 1 2.0 0 <NA> <NA> spk01 <NA> <NA>\n")
    with pytest.raises(ValueError, match=r"test\.rttm, line 2: duration"):
        get_protocol("Custom.SpeakerDiarization.Cached", yml)
    assert reads == [tmp_path / "test.rttm"]


def test_unknown_subset(database_yml):
    protocol = get_protocol("VoxConverse.SpeakerDiarization.Full", database_yml)
    assert protocol_subsets(protocol) == ["train", "test"]
    with pytest.raises(ValueError, match="has no 'development' subset: use one of train, test"):
        protocol_subset(protocol, "development")
    assert len(list(protocol_subset(protocol, "test"))) == 232


def test_optimize_cli_errors(capsys, tmp_path):
    """An unknown subset or protocol: exit code 1 and the message, before any model is loaded"""
    from pyannote_resnet50.cli import main as cli

    assert cli(["optimize", "AMI.SpeakerDiarization.Debug", str(tmp_path), "--subset", "dev"]) == 1
    assert "has no 'dev' subset: use one of train, development, test" in capsys.readouterr().err
    assert cli(["optimize", "AMI.SpeakerDiarization.Nope", str(tmp_path)]) == 1
    assert "unknown protocol 'AMI.SpeakerDiarization.Nope'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_training_task_validates_its_protocol(make_database, tmp_path):
    """The task checks the protocol `pyannote-audio-train` loads (any registry) before reading it"""
    from pyannote_resnet50.tasks import FileScopedSpeakerEmbedding

    yml = make_database("f1\n", GOOD + "SPEAKER f1 1 2.0 1.0 <NA> spk01\n", name="BadTraining")
    yml.write_text(yml.read_text().replace("test:", "train:"))
    registry = Registry()
    registry.load_database(yml)
    protocol = registry.get_protocol("Custom.SpeakerDiarization.BadTraining")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "test.rttm")) + ", line 2: expected 10"):
        FileScopedSpeakerEmbedding(protocol, num_workers=0)


def test_missing_audio_names_the_database_yml_used(make_database, tmp_path, restore_registry):
    """As in `pyannote-audio-train +registry=X.yml`: the message names X.yml, not the default one"""
    from pyannote_resnet50.tasks.embedding.file_scoped import _audio

    load_registry()  # e.g. an earlier get_protocol in the same process
    yml = make_database("f1\n", GOOD, name="NoAudio")
    registry = restore_registry
    registry.load_database(yml)
    file = next(registry.get_protocol("Custom.SpeakerDiarization.NoAudio", {"audio": FileFinder()}).test())
    with pytest.raises(FileNotFoundError, match=rf"'Databases: Custom:' line of {yml}"):
        _audio(file)


@pytest.fixture
def corrupt_wav(tmp_path):
    """2 s of 32-bit float audio whose sample at 1.5 s is NaN (and at 1.75 s infinite)"""
    waveform = 0.1 * np.random.default_rng(0).standard_normal(32000).astype(np.float32)
    waveform[24000], waveform[28000] = np.nan, np.inf
    path = tmp_path / "corrupt.wav"
    sf.write(path, waveform, 16000, subtype="FLOAT")
    return path


def test_non_finite_audio(corrupt_wav):
    """The loader, the cropper and the whole-file check name the file and the first bad sample"""
    message = rf"{corrupt_wav}: sample at 1\.500 s is nan \(2 non-finite samples between 0\.000 s and 2\.000 s\)"
    with pytest.raises(NonFiniteAudioError, match=message + ".*Re-export"):
        load_audio(corrupt_wav)
    with pytest.raises(NonFiniteAudioError, match=r"sample at 1\.500 s is nan \(2 non-finite samples between "
                                                  r"1\.400 s and 2\.000 s\)"):
        check_audio({"uri": "corrupt", "audio": str(corrupt_wav)}, block_duration=0.7)
    with pytest.raises(NonFiniteAudioError, match=r"sample at 1\.750 s is inf"):
        crop_audio(corrupt_wav, Segment(1.6, 2.0))
    assert np.isfinite(crop_audio(corrupt_wav, Segment(0.0, 1.4))).all()
    with pytest.raises(NonFiniteAudioError, match=r"audio of 'memory': sample at 0\.001 s"):
        check_audio({"uri": "memory", "waveform": np.array([[0.0, 0.0, 0.0, 0.0, np.nan] * 8]), "sample_rate": 4000})


def test_finite_audio_passes(tmp_path):
    path = tmp_path / "clean.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    check_audio(path)  # integer samples: the header is enough
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="FLOAT")
    check_audio(path)
    assert load_audio(path).shape == (16000,)


def test_pipeline_refuses_non_finite_audio():
    """The pipeline checks its input: a NaN sample is an error naming the file, not a blank window."""
    import torch
    from pyannote.audio import Pipeline

    import pyannote_resnet50
    from pyannote_resnet50.core.io import NonFiniteAudioError

    pipeline = Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)
    waveform = torch.zeros(1, 16000 * 5)
    waveform[0, 16000] = float("nan")
    with pytest.raises(NonFiniteAudioError, match="1.000 s"):
        pipeline({"uri": "broken", "waveform": waveform, "sample_rate": 16000})

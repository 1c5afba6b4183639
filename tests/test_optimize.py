"""Optimisation, config.yaml round trip, apply command and pyannote-metrics on its RTTM."""

import os
import sqlite3
import subprocess
import sys

import pytest
import torch
import yaml
from pyannote.audio import Pipeline
from pyannote.core import Annotation

from pyannote_resnet50.cli import main as cli
from pyannote_resnet50.database import DATABASE_YML, PACKAGE_DATABASE_YML, get_protocol
from pyannote_resnet50.pipelines import SpeakerDiarization
from pyannote_resnet50.pipelines.optimize import optimize

# (segmentation, embedding) checkpoints: committed ones, else tiny random ones
from test_pipeline import checkpoints  # noqa: F401  (pytest fixture)

torch.set_num_threads(2)

PROTOCOL = "AMI.SpeakerDiarization.Debug"


@pytest.fixture(scope="module")
def optimized(tmp_path_factory, checkpoints):
    """3-trial optimisation on AMI.SpeakerDiarization.Debug development (2 x 30s)."""
    output_dir = tmp_path_factory.mktemp("pipeline")
    segmentation, embedding = checkpoints
    exit_code = cli(
        ["optimize", PROTOCOL, str(output_dir), "--trials", "3", "--segmentation", str(segmentation),
         "--embedding", str(embedding), "--cache"]
    )
    assert exit_code == 0
    return output_dir


def num_completed_trials(output_dir):
    with sqlite3.connect(output_dir / "trials.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]


def test_config(optimized):
    config = yaml.safe_load((optimized / "config.yaml").read_text())
    assert config["pipeline"]["name"] == "pyannote_resnet50.pipelines.SpeakerDiarization"
    params = config["pipeline"]["params"]
    # checkpoints copied next to config.yaml, referenced by relative path
    assert params["segmentation"] == "segmentation.ckpt" and (optimized / "segmentation.ckpt").is_file()
    assert params["embedding"] == "embedding.ckpt" and (optimized / "embedding.ckpt").is_file()
    assert set(config["params"]["clustering"]) == {"threshold", "method", "min_cluster_size", "min_cluster_fraction"}
    assert "min_duration_off" in config["params"]["segmentation"]
    assert config["optimization"]["num_trials"] == 3 == num_completed_trials(optimized)
    assert 0.0 <= config["optimization"]["loss"]


def test_from_pretrained_elsewhere(optimized, tmp_path, monkeypatch):
    """config.yaml loads from another working directory and reproduces the tuned pipeline."""
    config = yaml.safe_load((optimized / "config.yaml").read_text())
    expected = SpeakerDiarization(
        **{**config["pipeline"]["params"],
           "segmentation": optimized / "segmentation.ckpt",
           "embedding": optimized / "embedding.ckpt"}
    ).instantiate(config["params"])
    file = next(get_protocol(PROTOCOL).development())
    file = {"uri": file["uri"], "audio": str(file["audio"])}
    expected_output = expected(dict(file))

    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(optimized / "config.yaml", tmp_path)
    pipeline = Pipeline.from_pretrained(relative)
    assert isinstance(pipeline, SpeakerDiarization)
    assert pipeline.parameters(instantiated=True) == config["params"]
    output = pipeline(dict(file))
    assert isinstance(output, Annotation)
    assert output == expected_output


def test_resume(optimized, checkpoints):
    segmentation, embedding = checkpoints
    # the same pipeline as the command line's: the shipped local-speaker check
    check = yaml.safe_load((optimized / "config.yaml").read_text())["pipeline"]["params"]["local_speaker_check"]
    result = optimize(
        get_protocol(PROTOCOL), optimized, segmentation=segmentation, embedding=embedding,
        num_trials=4, cache=True, show_progress=False, local_speaker_check=check,
    )
    assert result["num_trials"] == 4 == num_completed_trials(optimized)
    # cached segmentation and embeddings were reused from disk
    assert len(list((optimized / "cache").glob("*/*.npz"))) == 2


def test_apply_and_pyannote_metrics(optimized, tmp_path):
    rttm = tmp_path / "hyp.rttm"
    assert cli(["apply", str(optimized / "config.yaml"), PROTOCOL, "--subset", "development",
                "--output", str(rttm)]) == 0
    uris = {line.split()[1] for line in rttm.read_text().splitlines()}
    assert uris <= {file["uri"] for file in get_protocol(PROTOCOL).development()}

    env = dict(os.environ, PYANNOTE_DATABASE_CONFIG=str(DATABASE_YML or PACKAGE_DATABASE_YML))
    metrics = os.path.join(os.path.dirname(sys.executable), "pyannote-metrics")
    completed = subprocess.run(
        [metrics, "diarization", "--subset=development", PROTOCOL, str(rttm)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "diarization error rate" in completed.stdout
    assert "TOTAL" in completed.stdout


def test_local_speaker_check_option(monkeypatch, tmp_path):
    """`optimize --local-speaker-check split_halves` passes the option to the pipeline (and so to
    config.yaml); without it, the shipped pipeline's check; with "none" nothing is added (config.yaml
    and cache folder as before the option); the first
    trial of such a study is the shipped pipeline's hyper-parameters plus the default local_speakers"""
    import pyannote_resnet50.pipelines.optimize as module
    from pyannote_resnet50.pipelines.optimize import shipped_parameters

    calls = []

    def fake_optimize(protocol, output_dir, **kwargs):
        calls.append(kwargs)
        return {"loss": 0.0, "params": {}, "config": tmp_path / "config.yaml", "num_trials": 0}

    monkeypatch.setattr(module, "optimize", fake_optimize)
    out = str(tmp_path / "out")
    assert cli(["optimize", PROTOCOL, out, "--local-speaker-check", "split_halves"]) == 0
    assert calls[-1]["local_speaker_check"] == "split_halves"
    assert cli(["optimize", PROTOCOL, out]) == 0  # the shipped pipeline's check
    assert calls[-1]["local_speaker_check"] == "reassign_windows"
    assert cli(["optimize", PROTOCOL, out, "--local-speaker-check", "none"]) == 0
    assert "local_speaker_check" not in calls[-1] and "uniform_window" not in calls[-1]
    assert cli(["optimize", PROTOCOL, out, "--uniform-window", "1.25"]) == 0
    assert calls[-1]["uniform_window"] == 1.25
    assert "segmentation_duration" not in calls[-1]  # the model's own chunks: config.yaml as before
    assert cli(["optimize", PROTOCOL, out, "--segmentation-duration", "5"]) == 0
    assert calls[-1]["segmentation_duration"] == 5.0
    with pytest.raises(SystemExit):
        cli(["optimize", PROTOCOL, out, "--local-speaker-check", "halves"])

    pipeline = SpeakerDiarization(local_speaker_check="split_halves")
    params = shipped_parameters(pipeline)
    assert params["local_speakers"] == pipeline.default_parameters()["local_speakers"]
    assert shipped_parameters(SpeakerDiarization()).keys() == {"segmentation", "clustering"}


def test_freeze_tunes_a_check_alone_on_the_shipped_clustering(tmp_path, checkpoints, capsys):
    """`optimize --local-speaker-check reassign_windows --freeze clustering --freeze segmentation`:
    every trial keeps the shipped clustering and min_duration_off, only the check's hyper-parameters
    are tuned; an unknown name is refused before anything is written"""
    from pyannote_resnet50.pipelines.utils import DEFAULT_CONFIG

    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text())["params"]
    segmentation, embedding = checkpoints
    output_dir = tmp_path / "frozen"
    assert cli(["optimize", PROTOCOL, str(output_dir), "--trials", "3", "--segmentation", str(segmentation),
                "--embedding", str(embedding), "--local-speaker-check", "reassign_windows",
                "--freeze", "clustering", "--freeze", "segmentation"]) == 0
    config = yaml.safe_load((output_dir / "config.yaml").read_text())
    assert config["params"]["clustering"] == shipped["clustering"]
    assert config["params"]["segmentation"] == shipped["segmentation"]
    assert set(config["params"]["resegmentation"]) == {"margin", "min_duration"}
    with sqlite3.connect(output_dir / "trials.sqlite") as db:
        tuned = {name for (name,) in db.execute("SELECT DISTINCT param_name FROM trial_params")}
    assert tuned == {"resegmentation>margin", "resegmentation>min_duration"}

    capsys.readouterr()
    assert cli(["optimize", PROTOCOL, str(tmp_path / "refused"), "--freeze", "clustering.treshold"]) == 2
    assert "unknown hyper-parameter 'clustering.treshold'" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_pooled_protocols(monkeypatch, tmp_path, capsys):
    """`optimize A+B` tunes on the files of the subset of both protocols (config.yaml names both);
    protocols sharing uris are refused before any work."""
    import pyannote_resnet50.pipelines.optimize as module
    from pyannote_resnet50.pipelines.optimize import pooled_files

    mini = "Mini.SpeakerDiarization.Simulated"
    ami = get_protocol(PROTOCOL)
    files = pooled_files([get_protocol(mini), ami], "development")
    uris = [file["uri"] for file in files]
    assert uris == [f["uri"] for f in get_protocol(mini).development()] + [f["uri"] for f in ami.development()]

    calls = []

    def fake_optimize(protocol, output_dir, **kwargs):
        calls.append(protocol)
        return {"loss": 0.0, "params": {}, "config": tmp_path / "config.yaml", "num_trials": 0}

    monkeypatch.setattr(module, "optimize", fake_optimize)
    assert cli(["optimize", f"{mini}+{PROTOCOL}", str(tmp_path / "out")]) == 0
    assert [p.name for p in calls[-1]] == [mini, PROTOCOL]
    assert cli(["optimize", PROTOCOL, str(tmp_path / "out")]) == 0
    assert calls[-1].name == PROTOCOL  # one protocol: passed as before

    # Mini's precise references are the same files: refused, with what to do
    assert cli(["optimize", f"{mini}+Mini.SpeakerDiarization.Precise", str(tmp_path / "clash")]) == 1
    assert "share uris" in capsys.readouterr().err
    assert not (tmp_path / "clash").exists()
    with pytest.raises(ValueError, match="share uris"):
        pooled_files([ami, ami], "development")

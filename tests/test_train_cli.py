"""Training with pyannote.audio's stock `pyannote-audio-train` CLI on Mini."""

import subprocess
from pathlib import Path

import torch
from pyannote.audio import Model

from pyannote_resnet50.models import ResNet50, save_slim_checkpoint

from conftest import console_script

ROOT = Path(__file__).resolve().parents[1]


def test_pyannote_audio_train(mini_corpus, tmp_path):
    command = [
        console_script("pyannote-audio-train"),
        f"+registry={ROOT / 'database.yml'}",
        f"protocol={mini_corpus}",
        "task=FileScopedSpeakerEmbedding",
        "task.duration=2.0",
        "task.min_duration=1.0",
        "task.min_turn_duration=1.0",
        "task.num_classes_per_batch=4",
        "task.num_workers=0",
        "+augmentation=NoiseGain",
        "model=ResNet50",
        "model.base_width=4",
        "model.dimension=32",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=2",
        "trainer.num_sanity_val_steps=0",
        "trainer.enable_model_summary=false",
        f"hydra.run.dir={tmp_path}",
    ]
    process = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    # a fresh run: Lightning does not take Hydra's files for someone else's checkpoints
    assert "exists and is not empty" not in process.stderr

    # checkpoints are selected on the development EER (task.val_monitor)
    best = list(tmp_path.glob("epoch=0-EqualErrorRate=*.ckpt"))
    assert len(best) == 1

    # full training checkpoints hold optimizer / Hydra objects that torch >= 2.6
    # refuses to unpickle by default: slim checkpoints are the ones to load
    slim = Model.from_pretrained(save_slim_checkpoint(best[0], tmp_path / "slim.ckpt"))
    assert isinstance(slim, ResNet50)
    assert slim.hparams.base_width == 4 and slim.dimension == 32
    trained = torch.load(best[0], map_location="cpu", weights_only=False)["state_dict"]
    for name, tensor in slim.state_dict().items():
        assert torch.equal(tensor, trained[name])


def test_interrupted_run_resumes(mini_corpus, tmp_path):
    """The same command, run again, continues the run's epoch and step counts"""
    import csv

    def run(max_epochs: int):
        command = [
            console_script("pyannote-audio-train"),
            f"+registry={ROOT / 'database.yml'}",
            f"protocol={mini_corpus}",
            "task=FileScopedSpeakerEmbedding",
            "task.duration=1.5",
            "task.min_duration=1.0",
            "task.min_turn_duration=1.0",
            "task.num_classes_per_batch=4",
            "task.num_workers=0",
            "task.speed_perturbation=[0.9,1.1]",
            "task.margin_warmup_epochs=2",
            "model=ResNet50",
            "model.base_width=4",
            "model.dimension=32",
            "model.stem_stride=2",
            "model.stem_max_pool=true",
            "scheduler=PlateauLR",
            f"trainer.max_epochs={max_epochs}",
            "trainer.limit_train_batches=2",
            "trainer.limit_val_batches=2",
            "trainer.num_sanity_val_steps=0",
            "trainer.enable_model_summary=false",
            f"hydra.run.dir={tmp_path}",
            "+hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining",
        ]
        process = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert process.returncode == 0, process.stderr[-3000:]
        return process

    first = run(max_epochs=1)
    assert "Resuming" not in first.stdout
    assert (tmp_path / "last.ckpt").is_file()
    second = run(max_epochs=2)
    assert f"Resuming training from {tmp_path / 'last.ckpt'}" in second.stdout

    rows = list(csv.DictReader(open(tmp_path / "training_curve.csv")))
    # epoch 0 was not redone: the second run trained epoch 1 only, steps continue
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [int(r["step"]) for r in rows] == [2, 4]
    # margin warm-up: epoch 0 trains with a smaller margin than epoch 1
    assert float(rows[0]["margin"]) < float(rows[1]["margin"]) <= 11.5
    assert (tmp_path / "training_curve.png").stat().st_size > 0
    assert len(list(tmp_path.glob("epoch=*-EqualErrorRate=*.ckpt"))) == 2


def test_slim_checkpoint_of_an_interrupted_run(tmp_path):
    """No best_k_models.yaml (run killed): the best score is read from checkpoint names"""
    from pyannote_resnet50.models.checkpoint import slim_best_checkpoint

    for epoch, eer in [(0, 0.30), (1, 0.20), (2, 0.25)]:
        model = ResNet50(base_width=4, dimension=16)
        torch.manual_seed(epoch)
        torch.nn.init.normal_(model.embedding.weight)
        torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                    "pytorch-lightning_version": "2.6.0", "pyannote.audio": {}},
                   tmp_path / f"epoch={epoch}-EqualErrorRate={eer:.6f}.ckpt")
    slim = slim_best_checkpoint(tmp_path)
    best = torch.load(tmp_path / "epoch=1-EqualErrorRate=0.200000.ckpt", weights_only=False)["state_dict"]
    assert torch.equal(torch.load(slim, weights_only=False)["state_dict"]["embedding.weight"], best["embedding.weight"])


def test_slim_checkpoint_of_a_resumed_run_interrupted_again(tmp_path):
    """best_k_models.yaml of the first part of a run (a checkpoint since deleted, the better ones
    of the resumed part missing): the best checkpoint that exists is slimmed"""
    from pyannote_resnet50.models.checkpoint import slim_best_checkpoint

    weights = {}
    for epoch, eer in [(0, 0.30), (3, 0.10)]:
        model = ResNet50(base_width=4, dimension=16)
        torch.manual_seed(epoch)
        torch.nn.init.normal_(model.embedding.weight)
        weights[epoch] = model.embedding.weight.detach().clone()
        torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                    "pytorch-lightning_version": "2.6.0", "pyannote.audio": {}},
                   tmp_path / f"epoch={epoch}-EqualErrorRate={eer:.6f}.ckpt")
    (tmp_path / "best_k_models.yaml").write_text(
        f"{tmp_path / 'epoch=1-EqualErrorRate=0.050000.ckpt'}: 0.05\n"  # deleted by the top-k rotation
        f"{tmp_path / 'epoch=0-EqualErrorRate=0.300000.ckpt'}: 0.3\n")
    slim = slim_best_checkpoint(tmp_path)
    assert torch.equal(torch.load(slim, weights_only=False)["state_dict"]["embedding.weight"], weights[3])


def test_slim_checkpoint_without_checkpoints(tmp_path):
    import pytest

    from pyannote_resnet50.models.checkpoint import slim_best_checkpoint

    with pytest.raises(FileNotFoundError, match="finished an epoch"):
        slim_best_checkpoint(tmp_path)


class _Payload:
    """Unpickling this object would create a file (stands for arbitrary code)"""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_crafted_checkpoint_is_refused(tmp_path):
    """Slimming (and resuming) never unpickles arbitrary objects: the payload does not run"""
    import pickle

    import pytest

    from pyannote_resnet50.models.checkpoint import load_checkpoint, save_slim_checkpoint

    marker = tmp_path / "payload-ran"
    model = ResNet50(base_width=4, dimension=16)
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "pytorch-lightning_version": "2.6.0", "pyannote.audio": {}, "evil": _Payload(marker)}, crafted)
    with pytest.raises(pickle.UnpicklingError):
        save_slim_checkpoint(crafted, tmp_path / "slim.ckpt")
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(crafted)
    assert not marker.exists()
    assert not (tmp_path / "slim.ckpt").exists()


def test_fresh_run(tmp_path):
    """Lightning's "exists and is not empty" warning is silenced unless the run folder holds checkpoints"""
    from hydra_plugins.pyannote_resnet50 import fresh_run

    assert fresh_run(["protocol=Mini.SpeakerDiarization.Simulated"])  # a new <protocol>/<timestamp> folder
    assert fresh_run([f"hydra.run.dir={tmp_path}"])
    (tmp_path / "config.yaml").write_text("")  # Hydra's files
    assert fresh_run([f"hydra.run.dir={tmp_path}"])
    (tmp_path / "last.ckpt").write_bytes(b"")
    assert not fresh_run([f"hydra.run.dir={tmp_path}"])

"""Training with pyannote.audio's stock `pyannote-audio-train` CLI on Mini."""

import shutil
import subprocess
import sys
from pathlib import Path

import torch
from pyannote.audio import Model

from pyannote_resnet50.models import ResNet50, save_slim_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_pyannote_audio_train(mini_corpus, tmp_path):
    command = [
        shutil.which("pyannote-audio-train") or str(Path(sys.executable).parent / "pyannote-audio-train"),
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

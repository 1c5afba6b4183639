"""A `pyannote-audio-train` run interrupted after epoch 1 and resumed ends with the weights of an
uninterrupted run (fixed seed, CPU, num_workers=0, with augmentation)."""

import os
import subprocess
import textwrap
from pathlib import Path

import torch

from pyannote_resnet50.database.registry import PACKAGE_DATABASE_YML
from pyannote_resnet50.models.checkpoint import load_checkpoint

from conftest import console_script


def _database(corpus) -> Path:
    """The tiny simulated corpus (2 x 12 s, 5 file-scoped speakers) as train and development subsets
    (pyannote.audio 3.4's training CLI fails without a development subset under Lightning 2.6:
    ``ModelCheckpoint(save_top_k=None)``)"""
    yml = corpus["dir"] / "train.yml"
    yml.write_text(textwrap.dedent(f"""\
        Requirements:
          - {PACKAGE_DATABASE_YML}
        Databases:
          Tiny: wav/{{uri}}.wav
        Protocols:
          Tiny:
            SpeakerDiarization:
              Train:
                scope: file
                train:
                  uri: test.lst
                  annotation: test.rttm
                  annotated: test.uem
                development:
                  uri: test.lst
                  annotation: test.rttm
                  annotated: test.uem
        """))
    return yml


def _train(run_dir: Path, database_yml: Path, max_epochs: int) -> subprocess.CompletedProcess:
    command = [
        console_script("pyannote-audio-train"),
        f"+registry={database_yml}",
        "protocol=Tiny.SpeakerDiarization.Train",
        "task=FileScopedSpeakerEmbedding",
        "task.duration=1.0",
        "task.min_duration=0.5",
        "task.min_turn_duration=0.5",
        "task.min_speech_duration=2.0",
        "task.num_classes_per_batch=2",
        "task.num_workers=0",
        "+augmentation=NoiseGain",  # draws from the global torch RNG every batch
        "model=ResNet50",
        "model.base_width=4",
        "model.dimension=16",
        f"trainer.max_epochs={max_epochs}",
        "trainer.limit_train_batches=2",
        "trainer.num_sanity_val_steps=0",
        "trainer.accelerator=cpu",
        "trainer.enable_model_summary=false",
        f"hydra.run.dir={run_dir}",
        "+hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining",
    ]
    env = {**os.environ, "PL_GLOBAL_SEED": "0", "OMP_NUM_THREADS": "1"}
    process = subprocess.run(command, cwd=run_dir.parent, env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return process


def test_resumed_run_matches_uninterrupted_run(tiny_corpus, tmp_path):
    database_yml = _database(tiny_corpus)
    _train(tmp_path / "uninterrupted", database_yml, max_epochs=2)
    _train(tmp_path / "resumed", database_yml, max_epochs=1)
    assert "Resuming" in _train(tmp_path / "resumed", database_yml, max_epochs=2).stdout

    expected = load_checkpoint(tmp_path / "uninterrupted" / "last.ckpt")
    actual = load_checkpoint(tmp_path / "resumed" / "last.ckpt")
    assert (actual["epoch"], actual["global_step"]) == (expected["epoch"], expected["global_step"]) == (1, 4)
    assert list(actual["state_dict"]) == list(expected["state_dict"])
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(tensor, actual["state_dict"][name]), name

"""Multi-process (DDP) training with pyannote.audio 3.4's stock `pyannote-audio-train`.

No code of ours is involved in distributing: Lightning's engine does it, selected by
trainer overrides. Two CPU processes (gloo) train pyannote's `SpeakerDiarization` task
with its debug segmentation model on Mini, each limited to 2 training batches:

* ``trainer.strategy=ddp``: Lightning re-runs the Hydra command for rank 1 in the same
  run directory (the single-node multi-GPU command, ``accelerator=gpu devices=N``, takes
  the same path);
* ``torchrun``: processes created outside Lightning, ranks read from the environment
  (the path of multi-node runs, ``torchrun --nnodes`` or SLURM ``srun``).

``trainer.strategy=ddp_spawn`` does not work with pyannote.audio 3.4's CLI: the protocol
(classes that pyannote.database creates at run time) cannot be pickled.
"""

import csv
import os
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from pyannote_resnet50.models.checkpoint import load_checkpoint

from conftest import console_script

ROOT = Path(__file__).resolve().parents[1]

# a test run inside a SLURM job or a torchrun worker must not inherit its cluster
# environment (Lightning would detect it and wait for processes that never come)
_CLUSTER_VARIABLES = (
    "MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "NODE_RANK",
    "GROUP_RANK", "LOCAL_WORLD_SIZE", "JSM_NAMESPACE_RANK",
)


def _environment() -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _CLUSTER_VARIABLES and not key.startswith(("SLURM_", "TORCHELASTIC_", "PL_"))
    }
    return {**env, "PL_GLOBAL_SEED": "0", "OMP_NUM_THREADS": "1"}


def _overrides(run_dir: Path, max_epochs: int) -> list:
    return [
        f"+registry={ROOT / 'database.yml'}",
        "protocol=Mini.SpeakerDiarization.Simulated",
        "task=SpeakerDiarization",
        "task.duration=2.0",
        "task.batch_size=4",
        "task.num_workers=0",
        "model=DebugSegmentation",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp",  # process_group_backend: gloo on CPU, nccl on GPU
        f"trainer.max_epochs={max_epochs}",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.num_sanity_val_steps=0",
        "trainer.enable_model_summary=false",
        f"hydra.run.dir={run_dir}",
        "+hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining",
    ]


def _run(command: list, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run `command` in its own process group: all of it (every rank) is killed on timeout"""
    process = subprocess.Popen(
        command, cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    try:
        # every rank inherits the pipes: this returns once all ranks have exited
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{command[0]} did not finish in {timeout} s (a rank waiting for another?)\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-3000:]
    # a rank Lightning launched reports its failure here only
    assert "Error executing job" not in stderr and "Traceback" not in stderr, stderr[-3000:]
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _assert_two_processes(stderr: str):
    assert "Initializing distributed: GLOBAL_RANK: 0, MEMBER: 1/2" in stderr
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in stderr
    assert "distributed_backend=gloo" in stderr
    assert "All distributed processes registered. Starting with 2 processes" in stderr


def _curve(run_dir: Path) -> list:
    with open(run_dir / "training_curve.csv", newline="") as f:
        return [(int(row["epoch"]), int(row["step"])) for row in csv.DictReader(f)]


def test_two_process_ddp_run_and_resume(mini_corpus, tmp_path):
    """`trainer.devices=2 trainer.strategy=ddp`: 2 ranks train; the same command resumes both"""
    run_dir = tmp_path / "run"
    train = [console_script("pyannote-audio-train")]

    first = _run(train + _overrides(run_dir, max_epochs=1), cwd=tmp_path)
    _assert_two_processes(first.stderr)
    # Lightning re-ran the Hydra command for rank 1, in the same run directory
    assert (run_dir / "train_ddp_process_1.log").is_file()
    assert "Resuming" not in first.stdout
    assert len(list(run_dir.glob("epoch=0-DiarizationErrorRate=*.ckpt"))) == 1
    last = run_dir / "last.ckpt"
    checkpoint = load_checkpoint(last)
    # global_step counts the optimizer steps of one rank (2 batches each)
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (0, 2)
    assert _curve(run_dir) == [(0, 2)]  # written by rank 0 only (one row per epoch)

    second = _run(train + _overrides(run_dir, max_epochs=2), cwd=tmp_path)
    _assert_two_processes(second.stderr)
    # ResumableTraining ran in both ranks and both picked the same checkpoint: a rank
    # starting from scratch would run one more epoch than the other and hang or fail
    assert second.stdout.count(f"Resuming training from {last}") == 2
    assert f"Restored all states from the checkpoint at {last}" in second.stderr
    assert sorted(path.name for path in run_dir.glob("last*.ckpt")) == ["last.ckpt"]
    checkpoint = load_checkpoint(last)
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (1, 4)
    assert len(list(run_dir.glob("epoch=*-DiarizationErrorRate=*.ckpt"))) == 2
    assert _curve(run_dir) == [(0, 2), (1, 4)]
    assert (run_dir / "training_curve.png").stat().st_size > 0


def test_torchrun_launched_ddp_run(mini_corpus, tmp_path):
    """Processes created by torchrun (how multi-node runs start): ranks come from the environment"""
    run_dir = tmp_path / "run"
    command = [
        console_script("torchrun"), "--standalone", "--nnodes=1", "--nproc_per_node=2",
        "--no-python", console_script("pyannote-audio-train"),
        *_overrides(run_dir, max_epochs=1), "trainer.num_nodes=1",
    ]
    process = _run(command, cwd=tmp_path)
    _assert_two_processes(process.stderr)
    # torchrun started both ranks: Lightning launched no process of its own
    assert not (run_dir / "train_ddp_process_1.log").exists()
    assert len(list(run_dir.glob("epoch=0-DiarizationErrorRate=*.ckpt"))) == 1
    checkpoint = load_checkpoint(run_dir / "last.ckpt")
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (0, 2)
    assert _curve(run_dir) == [(0, 2)]


def test_training_curve_is_written_by_global_rank_zero_only(tmp_path, monkeypatch):
    from pyannote_resnet50.tasks import callbacks
    from pyannote_resnet50.tasks.callbacks import TrainingCurve

    trainer = SimpleNamespace(sanity_checking=False, current_epoch=0, global_step=2,
                              callback_metrics={"loss/train": 1.0})
    curve = TrainingCurve(tmp_path)
    # the rank Lightning's DDP strategy sets in every process (global rank)
    monkeypatch.setattr(callbacks.rank_zero_only, "rank", 1)
    curve.on_train_epoch_end(trainer, None)
    assert not curve.csv_path.exists()
    monkeypatch.setattr(callbacks.rank_zero_only, "rank", 0)
    curve.on_train_epoch_end(trainer, None)
    assert _curve(tmp_path) == [(0, 2)]

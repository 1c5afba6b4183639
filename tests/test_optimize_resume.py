"""Interrupted `optimize` runs: atomic cache, corrupt cache recomputed, study resumed without repeats."""

import shutil

import numpy as np
import optuna
import pytest
import torch
from optuna.trial import TrialState
from pyannote.core import SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.database import get_protocol
from pyannote_resnet50.pipelines import optimize as optimize_module
from pyannote_resnet50.pipelines.optimize import STUDY_NAME, optimize
from pyannote_resnet50.pipelines.utils import random_embedding_checkpoint, random_segmentation_checkpoint

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Tiny random segmentation and embedding checkpoints (trials are what is tested, not DER)"""
    directory = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    segmentation = random_segmentation_checkpoint(
        directory / "segmentation.ckpt", lstm={"hidden_size": 16, "num_layers": 1},
        linear={"hidden_size": 16, "num_layers": 1},
    )
    embedding = random_embedding_checkpoint(directory / "embedding.ckpt", base_width=4, dimension=16)
    return segmentation, embedding


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_corpus, tiny_models):
    """3 trials (RandomSampler, seed 42) on the 2 x 12 s tiny corpus, with the on-disk cache"""
    from pyannote.database import registry

    sources, database_yml = dict(registry.sources), getattr(registry, "database_yml", None)
    output_dir = tmp_path_factory.mktemp("optimize")
    _optimize(tiny_corpus, tiny_models, output_dir, num_trials=3)
    registry.sources.clear()
    registry.sources.update(sources)
    registry.database_yml = database_yml
    return output_dir


def _optimize(corpus, models, output_dir, num_trials):
    protocol = get_protocol(corpus["protocol"], corpus["database_yml"])
    segmentation, embedding = models
    return optimize(protocol, output_dir, subset="test", segmentation=segmentation, embedding=embedding,
                    num_trials=num_trials, sampler="RandomSampler", seed=42, cache=True, show_progress=False)


def _study(output_dir):
    return optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{output_dir / 'trials.sqlite'}")


def test_restart_continues_without_repeating(first_run, tiny_corpus, tiny_models, tmp_path, restore_registry):
    """A killed run's RUNNING trial is marked FAIL; the restarted sampler suggests new parameters"""
    output_dir = tmp_path / "run"
    shutil.copytree(first_run, output_dir)
    stale = _study(output_dir).ask()  # what a run killed during a trial leaves behind
    with pytest.warns(UserWarning, match=rf"trial {stale.number} of .*trials.sqlite was left running .* marked FAIL"):
        result = _optimize(tiny_corpus, tiny_models, output_dir, num_trials=6)
    assert result["num_trials"] == 6
    trials = _study(output_dir).get_trials()
    assert trials[stale.number].state == TrialState.FAIL
    completed = [trial for trial in trials if trial.state == TrialState.COMPLETE]
    assert len(completed) == 6
    # re-seeding the sampler with the same seed would replay trials 2 and 3 as 5 and 6
    suggestions = {tuple(sorted(trial.params.items())) for trial in completed}
    assert len(suggestions) == 6


def test_corrupt_cache_is_recomputed(first_run, tiny_corpus, tiny_models, tmp_path, restore_registry):
    """A truncated cache file is named in a warning and recomputed; nothing else is"""
    output_dir = tmp_path / "run"
    shutil.copytree(first_run, output_dir)
    cached = sorted((output_dir / "cache").glob("*/*.npz"))
    assert [path.stem for path in cached] == ["tiny0", "tiny1"]
    assert not list((output_dir / "cache").glob("*/.*"))  # no temporary file left behind
    intact = cached[1].read_bytes()
    cached[0].write_bytes(cached[0].read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"cache file {cached[0]} is unreadable .*: recomputing it"):
        result = _optimize(tiny_corpus, tiny_models, output_dir, num_trials=3)
    assert result["num_trials"] == 3
    with np.load(cached[0]) as recomputed:
        assert recomputed["embeddings"].ndim == 3
    assert cached[1].read_bytes() == intact


def test_cache_written_atomically(tmp_path, monkeypatch):
    """A write interrupted half-way leaves neither a partial cache file nor a temporary one"""
    segmentations = SlidingWindowFeature(np.zeros((2, 10, 3), dtype=np.float32), SlidingWindow(10.0, 5.0))
    npz = tmp_path / "cache" / "file.npz"
    optimize_module._save_cache(npz, segmentations, np.zeros((2, 3, 16)))
    before = npz.read_bytes()

    def killed(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(optimize_module.np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        optimize_module._save_cache(npz, segmentations, np.ones((2, 3, 16)))
    assert npz.read_bytes() == before
    assert [path.name for path in npz.parent.iterdir()] == ["file.npz"]

"""Uniform windows (issue 22, item 5): every local speaker cut by uniform windows of the chunk,
each part embedded and clustered on its own, so that a local speaker of two voices is separated."""

import numpy as np
import pytest
import torch
from pyannote.audio.pipelines.utils.hook import ArtifactHook
from pyannote.core import Segment, SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.pipelines import SpeakerDiarization
from pyannote_resnet50.pipelines.uniform_windows import window_local_speakers, window_starts

torch.set_num_threads(1)

CHUNKS = SlidingWindow(start=0.0, duration=10.0, step=5.0)


def test_windows_partition_each_local_speaker():
    rng = np.random.default_rng(0)
    soft = rng.random((3, 589, 3)).astype(np.float32)
    soft[1, 10, 2] = np.nan
    windowed = window_local_speakers(SlidingWindowFeature(soft, CHUNKS), 4)
    assert windowed.sliding_window is CHUNKS and windowed.data.shape == (3, 589, 12)
    assert windowed.data.dtype == soft.dtype
    parts = np.nan_to_num(windowed.data).reshape(3, 589, 4, 3)  # slot w * 3 + k
    np.testing.assert_array_equal(parts.sum(axis=2), np.nan_to_num(soft))  # union: the activity
    assert np.all(np.count_nonzero(parts, axis=2) <= 1)  # disjoint
    bounds = window_starts(589, 4)
    np.testing.assert_array_equal(bounds, [0, 147, 294, 442, 589])
    for w in range(4):  # part w lives in window w only
        outside = np.ones(589, dtype=bool)
        outside[bounds[w] : bounds[w + 1]] = False
        assert not parts[:, outside, w].any()
    np.testing.assert_array_equal(window_local_speakers(SlidingWindowFeature(soft, CHUNKS), 1).data, soft)
    with pytest.raises(ValueError, match="num_windows"):
        window_starts(589, 0)


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    """The shipped pipeline without a local-speaker check, and the same with
    local_speaker_check="uniform_windows", both loaded from a config.yaml (as `pyannote-resnet50
    optimize` writes it), with the embedding and threshold of the default before the fifth session
    (embedding-readspeech.ckpt, 0.5587): the setting in which the sample's two voices came out as
    one speaker (the Voices embedding, the default since, finds two without a check)"""
    from pyannote.audio import Pipeline

    from conftest import write_shipped_config

    folder = tmp_path_factory.mktemp("uniform")
    previous = {"embedding": "embedding-readspeech.ckpt", "clustering": {"threshold": 0.5587036602447298}}
    return {"default": Pipeline.from_pretrained(write_shipped_config(folder / "none.yaml", "none", **previous)),
            "uniform": Pipeline.from_pretrained(write_shipped_config(folder / "uniform.yaml", "uniform_windows",
                                                                     **previous))}


@pytest.fixture(scope="module")
def sample():
    """pyannote's 30 s sample (two voices that alternate quickly), in memory, with its reference"""
    from pyannote.audio.sample import SAMPLE_FILE

    from pyannote_resnet50.core.io import crop_audio

    waveform = torch.from_numpy(crop_audio(SAMPLE_FILE, Segment(0.0, 30.0)))[None]
    return {"uri": "sample", "waveform": waveform, "sample_rate": 16000, "annotation": SAMPLE_FILE["annotation"]}


def test_option_is_validated():
    with pytest.raises(ValueError, match="'uniform_windows'"):
        SpeakerDiarization(local_speaker_check="windows")  # refused before any model is loaded
    with pytest.raises(ValueError, match="uniform_window must be a positive duration"):
        SpeakerDiarization(local_speaker_check="uniform_windows", uniform_window=0)


def test_local_speaker_of_two_voices_is_separated(pipelines, sample):
    """The shipped segmentation gives both voices of the sample one local speaker per chunk: the
    pipeline without a check (previous embedding and threshold) finds one speaker; with uniform windows, the window parts of those
    local speakers go to two clusters, and the two voices come out as two speakers."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    default, uniform = pipelines["default"], pipelines["uniform"]
    assert uniform.local_speaker_check == "uniform_windows" and uniform.num_windows == 4
    before = default(dict(sample))
    file = dict(sample)
    after = uniform(file, hook=ArtifactHook("segmentation", "embeddings"))
    local_num_speakers = file["artifact"]["segmentation"].data.shape[2]
    assert file["artifact"]["embeddings"].shape[1] == 4 * local_num_speakers  # one per window part
    assert len(before.labels()) == 1 and len(after.labels()) == 2
    metric = DiarizationErrorRate()
    assert metric(sample["annotation"], after) < metric(sample["annotation"], before)
    # the speech found is the segmentation's, whatever the windows
    assert abs(after.get_timeline().support().duration() - before.get_timeline().support().duration()) < 1.0


def test_uniform_window_is_saved_in_config(tmp_path):
    from pyannote_resnet50.pipelines.optimize import _constructor_params

    pipeline = SpeakerDiarization(local_speaker_check="uniform_windows", uniform_window=2.0)
    assert pipeline.num_windows == 5
    params = _constructor_params(pipeline, {"segmentation": "s.ckpt", "embedding": "e.ckpt",
                                            "local_speaker_check": "uniform_windows"})
    assert params["uniform_window"] == 2.0 and params["local_speaker_check"] == "uniform_windows"
    assert "uniform_window" not in _constructor_params(SpeakerDiarization(), {"segmentation": "s", "embedding": "e"})

"""Local speakers checked before clustering (issue 22, item 5): a local speaker whose halves
have distant embeddings (two voices the segmentation model took for one) is split in two."""


import numpy as np
import pytest
import torch
from pyannote.audio.pipelines.utils.hook import ArtifactHook
from pyannote.core import Annotation, SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.pipelines import SpeakerDiarization
from pyannote_resnet50.pipelines.local_speakers import (
    CHECK_PARAMETERS,
    halve_local_speakers,
    second_half_start,
    split_local_speakers,
)

torch.set_num_threads(1)

CHUNKS = SlidingWindow(start=0.0, duration=10.0, step=5.0)


def test_halves_split_activity_at_the_middle():
    rng = np.random.default_rng(0)
    binary = (rng.random((4, 50, 3)) < 0.4).astype(np.float32)
    binary[1, :, 2] = 0.0  # an inactive speaker
    binary[2, 7, 0] = np.nan  # NaN counts as inactive
    halves = halve_local_speakers(SlidingWindowFeature(binary, CHUNKS))
    assert halves.sliding_window is CHUNKS and halves.data.shape == (4, 50, 6)
    first, second = halves.data[..., :3], halves.data[..., 3:]
    original = np.nan_to_num(binary)
    assert not np.any((first > 0) & (second > 0))  # disjoint
    np.testing.assert_array_equal(first + second, original)  # union: the activity
    n = original.sum(axis=1)
    np.testing.assert_array_equal(first.sum(axis=1), n // 2)  # cut at the middle of the activity
    frames = np.arange(50)[None, :, None]
    last_of_first = np.max(np.where(first > 0, frames, -1), axis=1)
    first_of_second = np.min(np.where(second > 0, frames, 50), axis=1)
    assert np.all(last_of_first < first_of_second)  # in time order
    assert np.all(second_half_start(binary)[1, 2] == 50) and not halves.data[1, :, [2, 5]].any()


def voices(dimension=16, seed=0):
    """Two orthonormal 'voices'"""
    basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dimension, 2)))
    return basis.T.astype(np.float32)


def one_chunk(first_half, second_half, other=None):
    """One chunk (100 frames of 0.1 s) of two local speakers: speaker 0 speaks all along, its
    halves embedded as `first_half` and `second_half`; speaker 1 speaks the first 40 frames

    Returns the arguments of split_local_speakers but the hyper-parameters."""
    binary = np.zeros((1, 100, 2), dtype=np.float32)
    binary[0, :, 0] = 1.0
    binary[0, :40, 1] = 1.0
    soft = 0.8 * binary + 0.1  # a multilabel model's activations
    a, b = voices()
    other = b if other is None else other
    embeddings = np.stack([(first_half + second_half) / 2, other])[None]
    halves = np.stack([first_half, other, second_half, other])[None]
    return SlidingWindowFeature(soft, CHUNKS), SlidingWindowFeature(binary, CHUNKS), embeddings, halves


def test_a_local_speaker_of_two_voices_is_split():
    a, b = voices()
    soft, binary, embeddings, halves = one_chunk(a, b)
    soft2, binary2, embeddings2, split = split_local_speakers(
        soft, binary, embeddings, halves, threshold=0.5, min_duration=1.0, frame_duration=0.1
    )
    np.testing.assert_array_equal(split, [[True, False]])  # only the speaker of two voices
    assert binary2.data.shape == soft2.data.shape == (1, 100, 4) and embeddings2.shape == (1, 4, 16)
    # its first half stays speaker 0, its second half becomes speaker 2 (= 2 + 0)
    np.testing.assert_array_equal(binary2.data[0, :, 0], np.arange(100) < 50)
    np.testing.assert_array_equal(binary2.data[0, :, 2], np.arange(100) >= 50)
    np.testing.assert_array_equal(embeddings2[0, 0], a)
    np.testing.assert_array_equal(embeddings2[0, 2], b)
    # soft activations cut at the same instant: nothing lost, nothing added
    np.testing.assert_allclose(soft2.data[0, :, 0] + soft2.data[0, :, 2], soft.data[0, :, 0])
    assert np.all(soft2.data[0, 50:, 0] == 0) and np.all(soft2.data[0, :50, 2] == 0)
    # speaker 1 unchanged, its extra slot 3 empty
    np.testing.assert_array_equal(binary2.data[0, :, 1], binary.data[0, :, 1])
    np.testing.assert_array_equal(soft2.data[0, :, 1], soft.data[0, :, 1])
    np.testing.assert_array_equal(embeddings2[0, 1], embeddings[0, 1])
    assert not binary2.data[0, :, 3].any() and not soft2.data[0, :, 3].any()
    assert np.all(np.isnan(embeddings2[0, 3]))
    # the speaker count of each frame is unchanged
    np.testing.assert_array_equal(binary2.data.sum(axis=2), binary.data.sum(axis=2))


def test_a_local_speaker_whose_halves_agree_is_not_split():
    a, b = voices()
    near = (a + 0.2 * b) / np.linalg.norm(a + 0.2 * b)  # cosine distance 0.02 from a
    soft, binary, embeddings, halves = one_chunk(a, near)
    soft2, binary2, embeddings2, split = split_local_speakers(
        soft, binary, embeddings, halves, threshold=0.5, min_duration=1.0, frame_duration=0.1
    )
    assert not split.any()
    np.testing.assert_array_equal(binary2.data[..., :2], binary.data)
    np.testing.assert_array_equal(soft2.data[..., :2], soft.data)
    assert not binary2.data[..., 2:].any() and not soft2.data[..., 2:].any()
    np.testing.assert_array_equal(embeddings2[:, :2], embeddings)
    assert np.all(np.isnan(embeddings2[:, 2:]))


def test_short_halves_and_missing_embeddings_are_not_split():
    a, b = voices()
    soft, binary, embeddings, halves = one_chunk(a, b)
    # halves of 5 s: too short for min_duration=6
    assert not split_local_speakers(soft, binary, embeddings, halves, 0.5, 6.0, frame_duration=0.1)[3].any()
    # a half without an embedding
    halves[0, 2] = np.nan
    assert not split_local_speakers(soft, binary, embeddings, halves, 0.5, 1.0, frame_duration=0.1)[3].any()
    # frame duration from the chunks (10 s / 100 frames) when not given
    halves[0, 2] = b
    assert split_local_speakers(soft, binary, embeddings, halves, 0.5, 1.0)[3][0, 0]


# ~~~~ the pipeline ~~~~


def test_option_is_validated_and_declares_its_hyper_parameters(pipelines):
    default, split = pipelines["default"], pipelines["split"]
    with pytest.raises(ValueError, match="local_speaker_check must be one of 'none', 'split_halves'"):
        SpeakerDiarization(local_speaker_check="halves")  # refused before any model is loaded
    assert "local_speakers" not in default.default_parameters()
    assert split.default_parameters()["local_speakers"] == {"threshold": 0.5, "min_duration": 1.0}
    assert set(split.parameters()["local_speakers"]) == {"threshold", "min_duration"}


def test_check_parameters_names_the_group_of_each_check(pipelines):
    # `optimize` (shipped_parameters, --freeze) finds a check's hyper-parameters through CHECK_PARAMETERS
    base = set(pipelines["none"].default_parameters())
    for name, pipeline in (("reassign_windows", pipelines["default"]), ("split_halves", pipelines["split"])):
        assert pipeline.local_speaker_check == name
        assert set(pipeline.default_parameters()) - base == {CHECK_PARAMETERS[name]}
        assert set(pipeline.parameters()) - base == {CHECK_PARAMETERS[name]}


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    """The shipped pipeline (whose check is reassign_windows), and the same with local_speaker_check
    "none" and "split_halves", loaded from config.yaml files (as `pyannote-resnet50 optimize` writes them)"""
    from pyannote.audio import Pipeline

    import pyannote_resnet50
    from conftest import write_shipped_config

    folder = tmp_path_factory.mktemp("split")
    return {
        "default": Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE),
        "none": Pipeline.from_pretrained(write_shipped_config(folder / "none.yaml", "none")),
        "split": Pipeline.from_pretrained(write_shipped_config(
            folder / "split.yaml", "split_halves", {"local_speakers": {"threshold": 0.5, "min_duration": 1.0}})),
    }


@pytest.fixture(scope="module")
def two_voices():
    """The first 20 s of pyannote's sample (two voices), in memory"""
    from pyannote.audio.sample import SAMPLE_FILE

    from pyannote.core import Segment

    from pyannote_resnet50.core.io import crop_audio

    waveform = torch.from_numpy(crop_audio(SAMPLE_FILE, Segment(0.0, 20.0)))[None]
    return {"uri": "sample", "waveform": waveform, "sample_rate": 16000}


@pytest.fixture(scope="module")
def default_output(pipelines, two_voices):
    """Output of the shipped pipeline without a local-speaker check"""
    return pipelines["none"](dict(two_voices))


def test_none_is_the_pipeline_without_a_check(pipelines, two_voices, default_output):
    """The shipped pipeline when its check (reassign_windows) re-assigns no window (a margin above any
    similarity gap) gives the output of the same pipeline with local_speaker_check="none"."""
    default = pipelines["default"]
    assert pipelines["none"].local_speaker_check == "none" and default.local_speaker_check == "reassign_windows"
    params = default.parameters(instantiated=True)
    try:
        default.instantiate({"resegmentation": {"margin": 2.0, "min_duration": 0.0}})
        assert default(dict(two_voices)) == default_output
    finally:
        default.instantiate(params)


def test_split_halves_end_to_end(pipelines, two_voices, default_output):
    split = pipelines["split"]
    assert isinstance(split, SpeakerDiarization) and split.local_speaker_check == "split_halves"
    params = split.parameters(instantiated=True)
    try:
        # every long enough local speaker split (threshold 0), in training mode: embeddings cached
        split.instantiate({"local_speakers": {"threshold": 0.0, "min_duration": 0.5}})
        split.training = True
        file = dict(two_voices)
        hook = ArtifactHook("local_speakers", "embeddings")
        output = split(file, hook=hook)
        assert isinstance(output, Annotation) and output.uri == "sample" and output.labels()
        assert output.get_timeline().support().duration() > 10.0
        artifacts = file["artifact"]
        local_num_speakers = artifacts["local_speakers"].shape[1]
        assert artifacts["local_speakers"].sum() > 0  # some local speakers were split
        # one pass: the embeddings of the local speakers and of their halves, cached together
        cached = file[split.CACHED_EMBEDDINGS]["embeddings"]
        assert cached.shape[1] == 3 * local_num_speakers
        assert np.array_equal(cached, artifacts["embeddings"], equal_nan=True)
        assert split(file) == output  # from the cache
        split.training = False

        # never split (distances are at most 2): the output of the pipeline without the check
        split.instantiate({"local_speakers": {"threshold": 2.0, "min_duration": 0.5}})
        file = dict(two_voices)
        assert split(file, hook=ArtifactHook("local_speakers")) == default_output
        assert not file["artifact"]["local_speakers"].any()
    finally:
        split.training = False
        split.instantiate(params)

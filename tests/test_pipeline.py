"""pyannote_resnet50.pipelines.SpeakerDiarization on tiny inputs.

Models: the committed default checkpoints when they exist, else tiny randomly
initialised ones (a random model makes arbitrary decisions: tests only check what
the pipeline guarantees whatever the models).
"""

import copy

import numpy as np
import pytest
import torch
from pyannote.audio.pipelines.utils.hook import ProgressHook
from pyannote.audio.sample import SAMPLE_FILE
from pyannote.core import Annotation, Segment

from pyannote_resnet50.core.io import crop_audio, get_duration, save_audio
from pyannote_resnet50.database import DATA_DIR
from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization
from pyannote_resnet50.pipelines.utils import (
    DEFAULT_EMBEDDING,
    DEFAULT_SEGMENTATION,
    random_embedding_checkpoint,
    random_segmentation_checkpoint,
)

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """(segmentation, embedding) checkpoint paths: committed ones, else tiny random ones."""
    directory = tmp_path_factory.mktemp("checkpoints")
    segmentation = DEFAULT_SEGMENTATION
    if not segmentation.is_file():
        segmentation = random_segmentation_checkpoint(
            directory / "segmentation.ckpt",
            duration=5.0,
            sincnet={"stride": 10},
            lstm={"hidden_size": 32, "num_layers": 1},
            linear={"hidden_size": 32, "num_layers": 1},
        )
    embedding = DEFAULT_EMBEDDING
    if not embedding.is_file():
        embedding = random_embedding_checkpoint(directory / "embedding.ckpt", base_width=8, dimension=64)
    return segmentation, embedding


@pytest.fixture(scope="session")
def pipeline(checkpoints):
    segmentation, embedding = checkpoints
    pipeline = SpeakerDiarization(segmentation=segmentation, embedding=embedding)
    return pipeline.instantiate(pipeline.default_parameters())


def audio_only(file):
    """Copy of `file` without the reference (so that labels are not mapped to it)."""
    return {"uri": file["uri"], "audio": file["audio"]}


def check_annotation(annotation, uri, duration):
    assert isinstance(annotation, Annotation)
    assert annotation.uri == uri
    for segment, _, label in annotation.itertracks(yield_label=True):
        assert 0.0 <= segment.start < segment.end <= duration + 1e-3
        assert isinstance(label, str)


@pytest.fixture(scope="session")
def sample_output(pipeline):
    return pipeline(audio_only(SAMPLE_FILE))


def test_sample_file(sample_output):
    check_annotation(sample_output, SAMPLE_FILE["uri"], get_duration(SAMPLE_FILE))
    assert len(sample_output.labels()) >= 1
    assert all(label.startswith("SPEAKER_") for label in sample_output.labels())


def test_num_speakers(pipeline):
    # the 30 s two-speaker sample file, in memory
    waveform = torch.from_numpy(crop_audio(SAMPLE_FILE, Segment(0.0, 30.0)))[None]
    file = {"uri": "sample", "waveform": waveform, "sample_rate": 16000}
    diarization = pipeline(dict(file), num_speakers=2)
    assert len(diarization.labels()) == 2
    diarization = pipeline(dict(file), max_speakers=1)
    assert len(diarization.labels()) == 1


def test_progress_hook_and_embeddings(pipeline, sample_output):
    with ProgressHook(transient=True) as hook:
        diarization, centroids = pipeline(audio_only(SAMPLE_FILE), hook=hook, return_embeddings=True)
    assert diarization == sample_output
    assert centroids.shape == (len(diarization.labels()), pipeline._embedding.dimension)


def test_block_embeddings(pipeline):
    """One block per chunk or one block for the whole file: same embeddings support."""
    file = audio_only(SAMPLE_FILE)
    segmentations = pipeline.binarize(pipeline.get_segmentations(file))
    many = copy.copy(pipeline)
    many.embedding_block_duration = pipeline._segmentation_window.step  # one chunk per block
    one = copy.copy(pipeline)
    one.embedding_block_duration = 3600.0
    num_chunks, num_frames, num_speakers = segmentations.data.shape
    # frames where each local speaker is the only active one
    clean = np.sum(segmentations.data * (np.sum(segmentations.data, axis=2, keepdims=True) == 1), axis=1)
    speaks = np.sum(segmentations.data, axis=1)
    seconds = num_frames / segmentations.sliding_window.duration
    for embeddings in (many.get_embeddings(file, segmentations), one.get_embeddings(file, segmentations)):
        assert embeddings.shape == (num_chunks, num_speakers, pipeline._embedding.dimension)
        valid = ~np.any(np.isnan(embeddings), axis=2)
        # silent local speakers have no embedding, those speaking (alone) for 1s+ have one
        assert not np.any(valid[speaks == 0])
        assert np.all(valid[clean > seconds])


def test_oracle_segmentation(checkpoints):
    pipeline = SpeakerDiarization(segmentation=ORACLE, embedding=checkpoints[1])
    pipeline.instantiate(pipeline.default_parameters())
    file = dict(SAMPLE_FILE)
    reference = file["annotation"]
    diarization = pipeline(file, num_speakers=len(reference.labels()))
    # exact speech and overlap: only speaker confusion remains
    assert diarization.get_timeline().support() .duration() == pytest.approx(
        reference.get_timeline().support().duration(), abs=0.2
    )
    with pytest.raises(ValueError, match="oracle"):
        pipeline(audio_only(SAMPLE_FILE))


@pytest.fixture
def silent_file(tmp_path):
    path = save_audio(tmp_path / "silence.wav", np.zeros(12 * 16000, dtype=np.float32))
    return {"uri": "silence", "audio": str(path)}


def test_silent_file_oracle(silent_file, checkpoints):
    pipeline = SpeakerDiarization(segmentation=ORACLE, embedding=checkpoints[1])
    pipeline.instantiate(pipeline.default_parameters())
    diarization = pipeline({**silent_file, "annotation": Annotation(uri="silence")})
    assert isinstance(diarization, Annotation) and len(diarization) == 0


def test_silent_file_no_speech_detected(silent_file, tmp_path, checkpoints):
    """A segmentation model that detects no speech gives an empty diarization."""
    from pyannote_resnet50.pipelines.utils import load_model

    model = load_model(
        random_segmentation_checkpoint(
            tmp_path / "mute.ckpt", duration=5.0, lstm={"hidden_size": 32, "num_layers": 1}
        ),
        None,
    )
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([10.0] + [0.0] * (model.classifier.out_features - 1)))
    pipeline = SpeakerDiarization(segmentation=model, embedding=checkpoints[1])
    pipeline.instantiate(pipeline.default_parameters())
    diarization, embeddings = pipeline(silent_file, return_embeddings=True)
    assert len(diarization) == 0 and diarization.uri == "silence"
    assert embeddings.shape == (0, pipeline._embedding.dimension)


@pytest.mark.skipif(not DEFAULT_SEGMENTATION.is_file(), reason="needs the committed segmentation model")
def test_silent_file_default_model(silent_file, pipeline):
    assert len(pipeline(silent_file)) == 0


@pytest.fixture
def one_speaker_file(tmp_path):
    flac = sorted((DATA_DIR / "librispeech").glob("*.flac"))[0]
    duration = min(12.0, get_duration(str(flac)))
    waveform = crop_audio(str(flac), Segment(0.0, duration))
    path = save_audio(tmp_path / "one.wav", waveform)
    reference = Annotation(uri="one")
    reference[Segment(0.0, duration)] = "reader"
    return {"uri": "one", "audio": str(path)}, reference, duration


def test_one_speaker_file(one_speaker_file, pipeline, checkpoints):
    file, reference, duration = one_speaker_file
    diarization = pipeline(dict(file))
    check_annotation(diarization, "one", duration)

    oracle = SpeakerDiarization(segmentation=ORACLE, embedding=checkpoints[1])
    oracle.instantiate(oracle.default_parameters())
    diarization = oracle({**file, "annotation": reference})
    assert diarization.labels() == ["reader"]
    assert diarization.get_timeline().support().duration() == pytest.approx(duration, abs=0.1)


def test_fuse_batch_norm(checkpoints):
    from pyannote_resnet50.pipelines.utils import fuse_batch_norm, load_model

    model = load_model(checkpoints[1], None)
    fused = fuse_batch_norm(model)
    assert fused is not model
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # original untouched
    waveform = torch.randn(1, 1, 3 * 16000)
    with torch.inference_mode():
        torch.testing.assert_close(fused.forward_frames(waveform), model.forward_frames(waveform), atol=1e-4, rtol=1e-4)


def test_default_pipeline_from_any_directory(tmp_path, monkeypatch):
    """Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE) works outside the checkout"""
    from pyannote.audio import Pipeline

    import pyannote_resnet50
    from pyannote_resnet50.pipelines import SpeakerDiarization

    monkeypatch.chdir(tmp_path)
    pipeline = Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)
    assert isinstance(pipeline, SpeakerDiarization)


def test_segmentation_duration_sets_the_chunks_and_the_oracle_twin_keeps_it(checkpoints):
    """A model applied to shorter chunks than it was trained on: its chunks (and their frames), and the
    oracle twin's, are that long; the diarization still covers the whole file"""
    segmentation, embedding = checkpoints
    trained = SpeakerDiarization(segmentation=segmentation, embedding=embedding)
    shorter = 0.5 * trained._segmentation_window.duration
    with pytest.warns(UserWarning, match="chunks"):  # pyannote.audio's warning about other chunks
        pipeline = SpeakerDiarization(segmentation=segmentation, embedding=embedding, segmentation_duration=shorter)
    pipeline.instantiate(pipeline.default_parameters())
    assert pipeline._segmentation_window.duration == shorter
    assert pipeline._segmentation_window.step == pipeline.segmentation_step * shorter
    assert pipeline.oracle_twin()._segmentation_window.duration == shorter
    segmentations = pipeline.get_segmentations({"uri": "sample", "audio": SAMPLE_FILE["audio"]})
    assert segmentations.sliding_window.duration == shorter
    num_frames = segmentations.data.shape[1]
    assert num_frames < trained._segmentation.model.num_frames(
        int(trained._segmentation_window.duration * trained._segmentation.model.hparams.sample_rate))
    hypothesis = pipeline(audio_only(SAMPLE_FILE))
    assert hypothesis.get_timeline().extent().end <= get_duration(SAMPLE_FILE["audio"]) + 0.01


@pytest.mark.parametrize("duration", [0, -5.0, "10", True])
def test_segmentation_duration_refuses_what_is_not_a_duration(checkpoints, duration):
    segmentation, embedding = checkpoints
    with pytest.raises(ValueError, match="segmentation_duration"):
        SpeakerDiarization(segmentation=segmentation, embedding=embedding, segmentation_duration=duration)

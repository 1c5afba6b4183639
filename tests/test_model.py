"""ResNet50 speaker embedding model: shapes, frame-level contract, checkpoints, pipelines."""

import warnings

import pytest
import torch
from pyannote.audio import Model
from pyannote.audio.core.task import Problem, Resolution, Specifications
from pyannote.audio.pipelines.speaker_verification import PyannoteAudioPretrainedSpeakerEmbedding
from pyannote.core import Annotation

from pyannote_resnet50.models import ResNet50
from pyannote_resnet50.models.checkpoint import save_slim_checkpoint

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def model() -> ResNet50:
    torch.manual_seed(0)
    return ResNet50(base_width=8).eval()


def _checkpoint(model: Model, path, duration: float = 3.0):
    """Write `model` as a pyannote.audio checkpoint, as Lightning would"""
    import pytorch_lightning as pl

    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=duration
    )
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": pl.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize("duration", [0.5, 1.0, 3.0, 10.0])
def test_shapes(model, duration):
    num_samples = int(duration * SAMPLE_RATE)
    waveforms = torch.randn(2, 1, num_samples)
    with torch.inference_mode():
        frames = model.forward_frames(waveforms)
        embeddings = model(waveforms)
        # weights at another frame rate (e.g. segmentation frames) are resampled
        weighted = model(waveforms, weights=torch.rand(2, 293))
        multi = model(waveforms, weights=torch.rand(2, 3, 293))

    assert frames.shape == (2, 8 * 4 * 8, 10, model.num_frames(num_samples))
    assert model.frame_features == frames.shape[1] * frames.shape[2]
    assert embeddings.shape == (2, model.dimension) == (2, 256)
    assert weighted.shape == (2, 256)
    assert multi.shape == (2, 3, 256)
    assert torch.isfinite(embeddings).all() and torch.isfinite(multi).all()


def test_frames_embedding_consistent_with_forward(model):
    waveforms = torch.randn(3, 1, 5 * SAMPLE_RATE)
    with torch.inference_mode():
        frames = model.forward_frames(waveforms)
        num_frames = frames.shape[-1]
        assert torch.allclose(model.forward_embedding(frames), model(waveforms), atol=1e-5)

        # uniform weights = no weights (unbiased weighted std)
        ones = torch.ones(3, num_frames)
        assert torch.allclose(model(waveforms, weights=ones), model(waveforms), atol=1e-3)

        # a binary mask pools exactly the frames it selects: one pass over long
        # audio then masked pooling per speaker is what a diarization pipeline does
        mask = torch.zeros(3, 2, num_frames)
        mask[:, 0, : num_frames // 2] = 1.0
        mask[:, 1, num_frames // 2 :] = 1.0
        pooled = model.forward_embedding(frames, weights=mask)
        first = model.forward_embedding(frames[..., : num_frames // 2])
        second = model.forward_embedding(frames[..., num_frames // 2 :])
        assert torch.allclose(pooled[:, 0], first, atol=1e-3)
        assert torch.allclose(pooled[:, 1], second, atol=1e-3)


def test_frame_rate(model):
    frames = model.frames_sliding_window()
    # default hop (10 ms) x 2^3 stage strides
    assert frames.step == pytest.approx(0.08)
    assert model.frames_per_second == pytest.approx(12.5)
    num_samples = 10 * SAMPLE_RATE
    assert model.num_frames(num_samples) == 125
    # frame i is centered on receptive_field_center(i)
    assert frames[10].middle * SAMPLE_RATE == pytest.approx(model.receptive_field_center(10), abs=1)

    strided = ResNet50(base_width=8, stem_stride=2, stem_max_pool=True)
    assert strided.frames_sliding_window().step == pytest.approx(0.32)
    with torch.inference_mode():
        out = strided.forward_frames(torch.randn(1, 1, num_samples))
    assert out.shape[-1] == strided.num_frames(num_samples)


def test_too_short_input_raises(model):
    with pytest.raises(ValueError, match="at least 2 frames"):
        model(torch.randn(1, 1, 400))


def test_from_pretrained_round_trip(model, tmp_path):
    path = _checkpoint(model, tmp_path / "model.ckpt")
    loaded = Model.from_pretrained(path)
    assert isinstance(loaded, ResNet50)
    assert loaded.hparams.base_width == 8
    loaded.eval()
    waveforms = torch.randn(2, 1, 3 * SAMPLE_RATE)
    with torch.inference_mode():
        assert torch.equal(loaded(waveforms), model(waveforms))

    slim = save_slim_checkpoint(path, tmp_path / "slim.ckpt")
    reloaded = Model.from_pretrained(slim).eval()
    with torch.inference_mode():
        assert torch.equal(reloaded(waveforms), model(waveforms))


def test_pretrained_torchvision_state_dict(tmp_path):
    from torchvision.models import resnet50

    torch.manual_seed(0)
    imagenet = resnet50(weights=None).state_dict()
    path = tmp_path / "resnet50.pth"
    torch.save(imagenet, path)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ResNet50(
            base_width=64, stem_kernel_size=7, stem_stride=2, stem_max_pool=True, pretrained=path
        )
    report = model.load_pretrained(path)
    assert torch.allclose(model.conv1.weight, imagenet["conv1.weight"].mean(dim=1, keepdim=True))
    assert torch.equal(model.layer3[2].conv2.weight, imagenet["layer3.2.conv2.weight"])
    assert report["skipped"] == []
    assert set(report["unexpected"]) == {"fc.weight", "fc.bias"}
    assert any("no counterpart" in str(w.message) for w in caught)

    narrow = ResNet50(base_width=8)
    with pytest.warns(UserWarning, match="shape mismatch"):
        report = narrow.load_pretrained(path)
    assert "conv1.weight" in report["skipped"] and "layer1.0.conv1.weight" in report["skipped"]

    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ResNet50(pretrained=tmp_path / "missing.pth")


def test_pretrained_speaker_embedding(model):
    embedding = PyannoteAudioPretrainedSpeakerEmbedding(model)
    assert embedding.dimension == 256
    assert embedding.sample_rate == SAMPLE_RATE
    min_num_samples = embedding.min_num_samples
    assert 400 < min_num_samples < SAMPLE_RATE // 2
    masks = torch.ones(2, 100)
    masks[1, 50:] = 0.0
    embeddings = embedding(torch.randn(2, 1, 2 * SAMPLE_RATE), masks=masks)
    assert embeddings.shape == (2, 256)


def test_speaker_diarization_pipeline(model, tmp_path):
    from pyannote.audio.models.segmentation import PyanNet
    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.audio.sample import SAMPLE_FILE

    torch.manual_seed(0)
    segmentation = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 16, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()
    segmentation.eval()

    embedding = Model.from_pretrained(_checkpoint(model, tmp_path / "embedding.ckpt"))
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        embedding=embedding,
        segmentation_batch_size=32,
        embedding_batch_size=32,
    )
    pipeline.instantiate(
        {
            "segmentation": {"min_duration_off": 0.0},
            "clustering": {"method": "centroid", "min_cluster_size": 2, "threshold": 0.7},
        }
    )
    diarization = pipeline(SAMPLE_FILE)
    assert isinstance(diarization, Annotation)
    assert diarization.uri == SAMPLE_FILE["uri"]


def test_spec_augment_masks_training_features_only(model, tmp_path):
    """SpecAugment masks training chunks' log-mel bands / spans; eval is untouched and
    the widths can be set when fine-tuning a checkpoint trained without it"""
    from pyannote_resnet50.cli.train import pretrained

    path = _checkpoint(model, tmp_path / "model.ckpt")
    augmented = pretrained(str(path), freq_mask_width=20, time_mask_width=40)
    assert augmented.hparams.freq_mask_width == 20 and augmented.hparams.time_mask_width == 40
    waveforms = torch.randn(4, 1, 3 * SAMPLE_RATE)

    augmented.eval()
    with torch.inference_mode():
        assert torch.equal(augmented(waveforms), model(waveforms))

    augmented.train()
    torch.manual_seed(0)
    features = augmented.logmel(waveforms).unsqueeze(1)
    masked = augmented.spec_augment(features.clone())
    zeroed = masked == 0
    # each chunk gets its own band and span, within the widths
    assert zeroed.any(dim=(1, 2, 3)).all()
    assert not torch.equal(zeroed[0], zeroed[1])
    band_rows = zeroed.all(dim=3).squeeze(1).sum(dim=1)  # fully masked mel bins per chunk
    span_cols = zeroed.all(dim=2).squeeze(1).sum(dim=1)  # fully masked frames per chunk
    assert (band_rows < 20).all() and (span_cols < 40).all()
    with torch.no_grad():
        torch.manual_seed(1)
        a = augmented(waveforms)
        torch.manual_seed(2)
        b = augmented(waveforms)
    assert not torch.allclose(a, b)

    # off by default
    plain = ResNet50(base_width=8)
    assert plain.hparams.freq_mask_width == 0 and plain.hparams.time_mask_width == 0

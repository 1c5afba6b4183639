"""Net2WiderNet widening of a trained ResNet50, and fine-tuning the wide model with its ArcFace head."""

import subprocess
from pathlib import Path

import pytest
import torch
from pyannote.audio import Model
from pyannote.audio.core.task import Problem, Resolution, Specifications

from pyannote_resnet50.models import ResNet50
from pyannote_resnet50.models.checkpoint import load_checkpoint, save_checkpoint
from pyannote_resnet50.models.embedding.widen import main, widen_checkpoint, widen_state_dict

from conftest import console_script

ROOT = Path(__file__).resolve().parents[1]


def _trained_like(**hparams) -> ResNet50:
    """A ResNet50 whose batch norms are not at their initial values (the zero-initialised
    last batch norm of each block would otherwise hide every residual branch)"""
    torch.manual_seed(0)
    model = ResNet50(**hparams)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _wide_model(state_dict, hparams) -> ResNet50:
    wide = ResNet50(**hparams)
    wide.load_state_dict(state_dict)
    return wide.eval()


@pytest.mark.parametrize("stem", [{}, {"stem_stride": 2, "stem_max_pool": True}])
@pytest.mark.parametrize("factor", [2, 3])
def test_widening_keeps_the_embedding(stem, factor):
    narrow = _trained_like(base_width=4, dimension=16, **stem)
    state_dict, hparams = widen_state_dict(narrow.state_dict(), dict(narrow.hparams), factor=factor, noise=0.0)
    assert hparams["base_width"] == 4 * factor
    wide = _wide_model(state_dict, hparams)
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in narrow.parameters())

    waveforms = 0.1 * torch.randn(3, 1, 32000)
    weights = torch.rand(3, 2, 200)  # two weighted poolings per chunk, as the pipeline does
    with torch.no_grad():
        torch.testing.assert_close(wide(waveforms), narrow(waveforms), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(wide(waveforms, weights=weights), narrow(waveforms, weights=weights),
                                   rtol=1e-4, atol=1e-5)
    # the copies of an input channel share its weight in different proportions
    conv = state_dict["layer1.0.conv1.weight"]
    assert not torch.allclose(conv[:, :4], conv[:, 4:8])
    torch.testing.assert_close(sum(conv[:, i * 4:(i + 1) * 4] for i in range(factor)),
                               narrow.state_dict()["layer1.0.conv1.weight"].repeat(factor, 1, 1, 1))


def test_noise_breaks_the_symmetry_of_copies():
    narrow = _trained_like(base_width=4, dimension=16)
    generator = torch.Generator().manual_seed(0)
    state_dict, hparams = widen_state_dict(narrow.state_dict(), dict(narrow.hparams), noise=0.05,
                                           generator=generator)
    stem = state_dict["conv1.weight"]  # output channels j and j + 4 are copies of channel j
    assert not torch.allclose(stem[:4], stem[4:])
    torch.testing.assert_close(stem[:4], stem[4:], atol=0.5 * stem.std().item(), rtol=0)
    wide = _wide_model(state_dict, hparams)
    waveforms = 0.1 * torch.randn(2, 1, 32000)
    with torch.no_grad():
        similarity = torch.nn.functional.cosine_similarity(wide(waveforms), narrow(waveforms))
    assert (similarity > 0.9).all() and (similarity < 1.0 - 1e-6).all()


def test_refuses_what_it_cannot_widen(tmp_path):
    narrow = _trained_like(base_width=4, dimension=16)
    with pytest.raises(ValueError, match="at least 2"):
        widen_state_dict(narrow.state_dict(), dict(narrow.hparams), factor=1)
    with pytest.raises(ValueError, match="as a ResNet50 with"):
        widen_state_dict(narrow.state_dict(), {**narrow.hparams, "base_width": 8})

    from pyannote.audio.models.segmentation import PyanNet

    segmentation = PyanNet()
    segmentation.specifications = Specifications(
        problem=Problem.MULTI_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=5.0,
        classes=["a", "b"],
    )
    segmentation.build()
    path = save_checkpoint(segmentation, tmp_path / "segmentation.ckpt")
    with pytest.raises(SystemExit) as error:
        main([str(path), str(tmp_path / "wide.ckpt")])
    assert error.value.code == 2 and not (tmp_path / "wide.ckpt").exists()


def test_widened_checkpoint_loads_and_keeps_the_loss_head(tmp_path):
    narrow = _trained_like(base_width=4, dimension=16)
    narrow.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=2.0
    )
    path = save_checkpoint(narrow, tmp_path / "narrow.ckpt")
    checkpoint = load_checkpoint(path)
    head = torch.randn(16, 7)
    checkpoint["state_dict"]["loss_func.W"] = head
    torch.save(checkpoint, tmp_path / "training.ckpt")

    wide_path = widen_checkpoint(tmp_path / "training.ckpt", tmp_path / "wide.ckpt", noise=0.0)
    wide = load_checkpoint(wide_path)
    assert torch.equal(wide["state_dict"]["loss_func.W"], head)
    model = Model.from_pretrained(wide_path, strict=False).eval()
    assert isinstance(model, ResNet50) and model.hparams.base_width == 8
    waveforms = 0.1 * torch.randn(2, 1, 32000)
    with torch.no_grad():
        torch.testing.assert_close(model(waveforms), narrow.eval()(waveforms), rtol=1e-4, atol=1e-5)


def _train(protocol: str, run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    command = [
        console_script("pyannote-audio-train"),
        f"+registry={ROOT / 'database.yml'}",
        f"protocol={protocol}",
        "task=FileScopedSpeakerEmbedding",
        "task.duration=1.5",
        "task.min_duration=1.0",
        "task.min_turn_duration=1.0",
        "task.num_classes_per_batch=4",
        "task.num_workers=0",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=2",
        "trainer.num_sanity_val_steps=0",
        "trainer.enable_model_summary=false",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    process = subprocess.run(command, cwd=run_dir.parent, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return process


def test_fine_tune_a_widened_run_with_its_arcface_head(mini_corpus, tmp_path):
    """narrow run -> widen its training checkpoint -> model=FineTune starts with the trained head"""
    _train(mini_corpus, tmp_path / "narrow", "model=ResNet50", "model.base_width=4", "model.dimension=32",
           "model.stem_stride=2", "model.stem_max_pool=true")
    trained = next((tmp_path / "narrow").glob("epoch=0-*.ckpt"))
    wide = widen_checkpoint(trained, tmp_path / "wide.ckpt")

    process = _train(mini_corpus, tmp_path / "wide", "model=FineTune", f"model.checkpoint={wide}")
    assert "Trainable loss initialised from" in process.stderr + process.stdout
    fine_tuned = load_checkpoint(next((tmp_path / "wide").glob("epoch=0-*.ckpt")))
    assert fine_tuned["hyper_parameters"]["base_width"] == 8
    # the head went on training from the narrow run's, not from a fresh initialisation
    narrow_head = load_checkpoint(trained)["state_dict"]["loss_func.W"]
    head = fine_tuned["state_dict"]["loss_func.W"]
    assert head.shape == narrow_head.shape
    fresh = torch.nn.functional.cosine_similarity(head.flatten(), narrow_head.flatten(), dim=0)
    assert fresh > 0.9

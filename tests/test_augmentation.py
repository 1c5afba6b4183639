"""Augmentation: real noise, reverberation, band-limiting, gain and speed on a batch."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pyannote_resnet50.augmentation import (
    HELD_OUT_NOISES,
    BackgroundNoise,
    Reverberation,
    held_out_noise_files,
    real_world_augmentation,
    simulate_impulse_response,
    speed_perturb,
    training_noise_files,
)

SHARED_NOISE = Path(__file__).resolve().parents[2] / "shared" / "data" / "noise"
needs_shared = pytest.mark.skipif(not SHARED_NOISE.is_dir(), reason="../shared/data/noise not found")


def _batch(seed: int = 0) -> torch.Tensor:
    t = torch.arange(16000) / 16000
    tone = 0.1 * torch.sin(2 * torch.pi * 220 * t)
    return tone.repeat(4, 1, 1) + 0.001 * torch.randn(4, 1, 16000, generator=torch.Generator().manual_seed(seed))


def test_simulated_impulse_response():
    rng = np.random.default_rng(0)
    rir = simulate_impulse_response(rng, rt60=0.5, drr_db=0.0)
    assert len(rir) == int(1.2 * 0.5 * 16000)
    assert np.argmax(np.abs(rir)) == 0
    assert np.sum(rir**2) == pytest.approx(1.0, rel=1e-4)
    # the tail decays: last 100 ms hold far less energy than the first 100 ms after the onset
    assert np.sum(rir[-1600:] ** 2) < 0.01 * np.sum(rir[1:1601] ** 2)


def test_speed_perturb_lengths():
    x = torch.randn(2, 1, 11000)
    assert speed_perturb(x, 1.1).shape[-1] == 10000
    assert speed_perturb(x, 0.9).shape[-1] == 12223  # ceil(11000 / 0.9)
    assert speed_perturb(x, 1.0).shape[-1] == 11000
    assert speed_perturb(x, 1.1, num_samples=10500).shape[-1] == 10500
    # a 100 Hz tone played 1.1 times faster is a 110 Hz tone
    t = torch.arange(16000) / 16000
    fast = speed_perturb(torch.sin(2 * torch.pi * 100 * t), 1.1)
    assert int(torch.fft.rfft(fast).abs().argmax()) == pytest.approx(110 * len(fast) / 16000, abs=1)


def test_reverberation_keeps_length_and_rate():
    x = _batch()
    reverb = Reverberation(num_simulated_rooms=5, p=1.0)
    y = reverb(samples=x, sample_rate=16000)
    assert y.samples.shape == x.shape and y.sample_rate == 16000
    assert torch.isfinite(y.samples).all()
    assert not torch.allclose(y.samples, x)


@needs_shared
def test_held_out_noises_never_train():
    train = {p.stem for p in training_noise_files(SHARED_NOISE / "noise")}
    held_out = {p.stem for p in held_out_noise_files(SHARED_NOISE / "noise")}
    assert held_out == set(HELD_OUT_NOISES)
    assert not train & held_out and train
    noise = BackgroundNoise(SHARED_NOISE / "noise", min_snr_in_db=10.0, max_snr_in_db=10.0, p=1.0)
    assert len(noise.noises) == len(train)


@needs_shared
def test_real_world_augmentation_on_a_batch():
    torch.manual_seed(0)
    x = _batch()
    augmentation = real_world_augmentation(
        noise=SHARED_NOISE / "noise", rir=SHARED_NOISE / "rir", num_simulated_rooms=5,
        p_noise=1.0, min_snr_in_db=10.0, max_snr_in_db=10.0, p_reverb=1.0, p_band_limit=1.0,
        p_gain=0.0, p_colored_noise=0.0,
    )
    y = augmentation(samples=x, sample_rate=16000).samples
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert not torch.allclose(y, x)


def test_missing_noise_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BackgroundNoise(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no audio file"):
        BackgroundNoise(tmp_path)

"""Deepening a trained PyanNet segmentation: LSTM layers appended as a pointwise near-identity."""

from pathlib import Path

import pytest
import torch
from pyannote.audio import Model
from pyannote.audio.sample import SAMPLE_FILE

from pyannote_resnet50.core.io import load_audio
from pyannote_resnet50.models.checkpoint import load_checkpoint
from pyannote_resnet50.models.segmentation.deepen import (
    deepen_checkpoint,
    deepen_state_dict,
    main,
    segmentation_agreement,
)

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "pyannote_resnet50" / "data" / "checkpoints"
SEGMENTATION = CHECKPOINTS / "segmentation-voices.ckpt"


def test_new_layers_squash_their_input_unit_by_unit():
    loaded = load_checkpoint(SEGMENTATION)
    state_dict, hparams = deepen_state_dict(loaded["state_dict"], loaded["hyper_parameters"], num_layers=3)
    assert hparams["lstm"]["num_layers"] == 3 and loaded["hyper_parameters"]["lstm"]["num_layers"] == 2
    # the lower layers are copied, the new one has the shapes of a third layer
    torch.testing.assert_close(state_dict["lstm.weight_ih_l1"], loaded["state_dict"]["lstm.weight_ih_l1"])
    assert state_dict["lstm.weight_ih_l2_reverse"].shape == loaded["state_dict"]["lstm.weight_ih_l1_reverse"].shape

    lstm = torch.nn.LSTM(256, 128, num_layers=1, bidirectional=True, batch_first=True)
    lstm.load_state_dict({name.replace("_l2", "_l0")[len("lstm."):]: tensor
                          for name, tensor in state_dict.items() if "_l2" in name})
    x = 2 * torch.rand(2, 50, 256) - 1
    with torch.no_grad():
        y, _ = lstm(x)
    # forward half from the forward half, backward half from the backward half, no memory
    torch.testing.assert_close(y, torch.tanh(torch.tanh(x)), atol=0.01, rtol=0.0)


def test_deepened_checkpoint_segments_like_the_original(tmp_path):
    deep = deepen_checkpoint(SEGMENTATION, tmp_path / "deep.ckpt", num_layers=4)
    original = Model.from_pretrained(SEGMENTATION, map_location="cpu")
    deepened = Model.from_pretrained(deep, map_location="cpu")
    assert deepened.lstm.num_layers == 4
    assert sum(p.numel() for p in deepened.parameters()) > 2 * sum(p.numel() for p in original.parameters())
    waveform = torch.from_numpy(load_audio(SAMPLE_FILE["audio"]))[None]
    agreement = segmentation_agreement(original, deepened, waveform, original.specifications.duration)
    assert agreement > 0.9
    # and it trains: its new layers receive gradients
    deepened.train()
    deepened(waveform[None, :, :16000 * 5]).sum().backward()
    assert deepened.lstm.weight_hh_l3.grad.abs().sum() > 0


def test_deepen_refuses_what_it_cannot_do(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(SEGMENTATION), str(tmp_path / "deep.ckpt"), "--num-layers", "2"])
    assert "already has 2 LSTM layers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(CHECKPOINTS / "embedding-voices.ckpt"), str(tmp_path / "deep.ckpt")])
    assert "not a PyanNet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(SEGMENTATION), str(tmp_path / "deep.ckpt"), "--check", str(tmp_path / "missing.wav")])
    assert "missing.wav: no such file" in capsys.readouterr().err
    assert not (tmp_path / "deep.ckpt").exists()

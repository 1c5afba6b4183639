"""Portable checkpoints: plain data only, loadable by stock pyannote.audio in a fresh interpreter."""

import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from pyannote.audio import Model
from pyannote.audio.core.task import Problem, Resolution, Specifications

from pyannote_resnet50.models import ResNet50
from pyannote_resnet50.models.checkpoint import (
    UnsafeCheckpointError,
    _safe_globals_exactly,
    convert_checkpoint,
    from_portable,
    is_portable,
    save_checkpoint,
    to_portable,
)
from pyannote_resnet50.pipelines.utils import DEFAULT_EMBEDDING, DEFAULT_SEGMENTATION

SHIPPED = [DEFAULT_SEGMENTATION, DEFAULT_EMBEDDING]


def _tiny_model() -> ResNet50:
    torch.manual_seed(0)
    model = ResNet50(base_width=4, dimension=16)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=2.0, min_duration=1.0
    )
    return model


def _pyannote_format(model: Model, path):
    """Write `model` as pyannote.audio / Lightning do (pickled Specifications, TorchVersion)"""
    import pytorch_lightning as pl

    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                  "pytorch-lightning_version": pl.__version__}
    model.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoints_are_plain_data(path):
    """torch's safe loader reads them with an empty allow-list: no pyannote / torch object inside"""
    with _safe_globals_exactly([]):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert is_portable(checkpoint)
    assert type(checkpoint["pyannote.audio"]["versions"]["torch"]) is str
    assert isinstance(checkpoint["pyannote.audio"]["specifications"], dict)


def test_fresh_interpreter_loads_shipped_checkpoints(tmp_path):
    """Without `import pyannote_resnet50` first: Model.from_pretrained and stock SpeakerDiarization.

    Before the portable format this failed in torch.load (weights_only=True by default since
    torch 2.6, passed on by Lightning's loader that pyannote.audio 3.4 calls):
    "Unsupported global: GLOBAL torch.torch_version.TorchVersion was not an allowed global".
    """
    script = textwrap.dedent(
        f"""
        import sys, torch
        from pyannote.audio import Model
        from pyannote.audio.models.segmentation import PyanNet
        from pyannote.audio.pipelines import SpeakerDiarization
        assert "pyannote_resnet50" not in sys.modules
        from pyannote.audio.core.task import Problem, Resolution, Specifications
        from torch.torch_version import TorchVersion
        assert not {{Problem, Resolution, Specifications, TorchVersion}} & set(torch.serialization.get_safe_globals())
        segmentation = Model.from_pretrained({str(DEFAULT_SEGMENTATION)!r})
        embedding = Model.from_pretrained({str(DEFAULT_EMBEDDING)!r})
        assert type(segmentation) is PyanNet and type(embedding).__name__ == "ResNet50"
        assert segmentation.specifications.powerset and embedding.dimension == 256
        pipeline = SpeakerDiarization(segmentation={str(DEFAULT_SEGMENTATION)!r},
                                      embedding={str(DEFAULT_EMBEDDING)!r})
        pipeline.instantiate({{"segmentation": {{"min_duration_off": 0.0}},
                              "clustering": {{"method": "centroid", "min_cluster_size": 1, "threshold": 0.7}}}})
        torch.manual_seed(0)
        output = pipeline({{"waveform": 0.1 * torch.randn(1, 16000 * 12), "sample_rate": 16000}})
        print("OK", type(output).__name__)
        """
    )
    process = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "OK Annotation" in process.stdout


def test_save_checkpoint_round_trip(tmp_path):
    """save_checkpoint writes plain data; from_pretrained rebuilds the same model and specifications"""
    model = _tiny_model()
    path = save_checkpoint(model, tmp_path / "model.ckpt")
    with _safe_globals_exactly([]):
        assert is_portable(torch.load(path, weights_only=True))
    loaded = Model.from_pretrained(path)
    assert type(loaded) is ResNet50 and loaded.specifications == model.specifications
    assert loaded.hparams.base_width == 4
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_multitask_specifications_round_trip():
    first = Specifications(problem=Problem.MULTI_LABEL_CLASSIFICATION, resolution=Resolution.FRAME,
                           duration=5.0, classes=["a", "b"], permutation_invariant=True)
    second = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    checkpoint = {"state_dict": {}, "pyannote.audio": {
        "versions": {}, "architecture": {"module": "m", "class": "C"}, "specifications": (first, second)}}
    portable = to_portable(checkpoint)
    assert portable["pyannote.audio"]["specifications"][0]["problem"] == "MULTI_LABEL_CLASSIFICATION"
    assert to_portable(portable) == portable  # idempotent
    restored = from_portable(portable)["pyannote.audio"]
    assert restored["specifications"] == (first, second)
    assert restored["architecture"] == {"module": "m", "class": "C"}


def test_convert_keeps_weights(tmp_path):
    """An old-format checkpoint, converted in place: identical state dict and hyper-parameters"""
    model = _tiny_model()
    path = _pyannote_format(model, tmp_path / "old.ckpt")
    with pytest.raises(pickle.UnpicklingError), _safe_globals_exactly([]):
        torch.load(path, weights_only=True)
    convert_checkpoint(path)
    convert_checkpoint(path)  # idempotent
    with _safe_globals_exactly([]):
        converted = torch.load(path, weights_only=True)
    assert converted["hyper_parameters"] == dict(model.hparams)
    assert list(converted["state_dict"]) == list(model.state_dict())
    assert all(torch.equal(t, converted["state_dict"][n]) for n, t in model.state_dict().items())
    assert Model.from_pretrained(path).specifications == model.specifications


def test_crafted_portable_checkpoint_is_refused(tmp_path):
    """A portable checkpoint runs no code: pickled objects are refused, and the named model
    class must be a pyannote.audio Model (a function such as os.system is never called)"""
    from test_train_cli import _Payload

    marker = tmp_path / "payload-ran"
    checkpoint = to_portable({**torch.load(save_checkpoint(_tiny_model(), tmp_path / "ok.ckpt"), weights_only=True)})
    torch.save({**checkpoint, "evil": _Payload(marker)}, tmp_path / "payload.ckpt")
    with pytest.raises(pickle.UnpicklingError):
        Model.from_pretrained(tmp_path / "payload.ckpt")
    assert not marker.exists()

    checkpoint["pyannote.audio"]["architecture"]["model"] = {"module": "os", "class": "system"}
    torch.save(checkpoint, tmp_path / "system.ckpt")
    with pytest.raises(UnsafeCheckpointError, match="architecture os.system is not a pyannote.audio Model"):
        Model.from_pretrained(tmp_path / "system.ckpt")


def test_cli_slims_a_named_checkpoint(tmp_path, capsys):
    """`python -m pyannote_resnet50.models.checkpoint RUN_DIR NAME --checkpoint CKPT` slims that
    checkpoint, not the best one; --help works; no run directory is a clear usage error."""
    from pyannote_resnet50.models.checkpoint import load_checkpoint, main

    model = _tiny_model()
    _pyannote_format(model, tmp_path / "epoch=0-EqualErrorRate=0.100000.ckpt")
    name = next(iter(model.named_parameters()))[0]
    first = model.state_dict()[name].clone()
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    _pyannote_format(model, tmp_path / "epoch=1-EqualErrorRate=0.200000.ckpt")
    main([str(tmp_path), "chosen.ckpt", "--checkpoint", "epoch=1-EqualErrorRate=0.200000.ckpt"])
    chosen = load_checkpoint(tmp_path / "chosen.ckpt")["state_dict"]
    main([str(tmp_path), "best.ckpt"])
    best = load_checkpoint(tmp_path / "best.ckpt")["state_dict"]
    assert torch.equal(chosen[name], model.state_dict()[name])
    assert torch.equal(best[name], first)  # epoch 0 has the lowest EER
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    with pytest.raises(SystemExit):
        main([])
    with pytest.raises(SystemExit):
        main([str(tmp_path), "x.ckpt", "--checkpoint", "missing.ckpt"])
    assert "missing.ckpt" in capsys.readouterr().err


def test_unsafe_checkpoint_refused_with_its_name(tmp_path, capsys):
    """Every path that reads a checkpoint refuses a crafted one with an error naming it and
    saying what is loaded (exit code 2 on the command lines); nothing runs, nothing is written."""
    from test_train_cli import _Payload

    from pyannote_resnet50.cli import main as cli
    from pyannote_resnet50.models.checkpoint import TRUSTED_CHECKPOINTS, load_checkpoint, main

    marker = tmp_path / "payload-ran"
    model = _tiny_model()
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "pytorch-lightning_version": "2.6.0", "pyannote.audio": {}, "evil": _Payload(marker)}, crafted)
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint(crafted)
    assert isinstance(error.value, pickle.UnpicklingError) and isinstance(error.value, ValueError)
    message = str(error.value)
    assert f"checkpoint '{crafted}' is refused" in message and "Unsupported global" in message
    assert TRUSTED_CHECKPOINTS in message and "weights_only=False" not in message

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best_k_models.yaml").write_text(f"{crafted}: 0.1\n")
    old = _pyannote_format(model, tmp_path / "old.ckpt")
    before = old.read_bytes()
    for argv in ([str(run_dir), "slim.ckpt", "--checkpoint", str(crafted)],  # a chosen checkpoint
                 [str(run_dir)],  # the run's best-model entry
                 ["--convert", str(old), str(crafted)]):  # checked before any is rewritten
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"checkpoint '{crafted}' is refused" in err and TRUSTED_CHECKPOINTS in err and "Traceback" not in err
    assert old.read_bytes() == before and not list(run_dir.glob("*.ckpt"))

    output_dir = tmp_path / "optimized"
    assert cli(["optimize", "AMI.SpeakerDiarization.Debug", str(output_dir), "--embedding", str(crafted)]) == 2
    err = capsys.readouterr().err
    assert f"--embedding: checkpoint '{crafted}' is refused" in err and not output_dir.exists()
    from pyannote_resnet50.cli.train import pretrained  # model=FineTune of pyannote-audio-train

    with pytest.raises(UnsafeCheckpointError, match="is refused"):
        pretrained(str(crafted))
    assert not marker.exists()

    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="is not a torch checkpoint"):
        load_checkpoint(garbage)
    garbage.write_bytes(old.read_bytes()[:1000])  # truncated
    with pytest.raises(ValueError, match="torch checkpoint"):
        load_checkpoint(garbage)

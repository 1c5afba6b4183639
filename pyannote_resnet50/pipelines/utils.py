"""Model loading and checkpoint helpers of pyannote_resnet50 pipelines.

Models are only ever loaded from local files: a path that does not exist raises
``FileNotFoundError`` (and a URL ``ValueError``) instead of falling back to a download
as :func:`pyannote.audio.pipelines.utils.get_model` would. Every checkpoint is first
read by the safe loader (:func:`pyannote_resnet50.models.checkpoint.load_checkpoint`:
allow-listed contents, allow-listed model class), so that a crafted one is refused with
a message naming it before pyannote.audio's ``Model.from_pretrained`` reads it.
"""

import inspect
from pathlib import Path
from typing import Mapping, Optional, Text, Union
from urllib.parse import urlparse

import torch
from pyannote.audio import Model
from pyannote.audio.core.pipeline import Pipeline as PyannotePipeline
from pyannote.audio.core.task import Problem, Resolution, Specifications

# written by the one checkpoint module; re-exported here for the pipelines
from pyannote_resnet50.models.checkpoint import (
    allow_pyannote_checkpoints,
    load_checkpoint,
    model_class,
    save_checkpoint,
)

#: checkpoints committed with the package
CHECKPOINTS_DIR = Path(__file__).resolve().parents[1] / "data" / "checkpoints"
#: default segmentation model, the shipped pipeline's: PyanNet trained on Mini train, then on
#: realistic simulated conversations and AMI Debug train, then on conversations of every voice
#: in VoxConverse's convention (recipes/segmentation/train.sh)
DEFAULT_SEGMENTATION = CHECKPOINTS_DIR / "segmentation-voices.ckpt"
#: default embedding model, the shipped pipeline's: ResNet50 (width 16, torchvision's stem) trained
#: on ReadSpeech.SpeakerDiarization.Speakers (embedding-readspeech.ckpt), then fine-tuned for 6 hours
#: on every labelled voice (Voices.SpeakerDiarization.Speakers) by recipes/embedding/train.sh
DEFAULT_EMBEDDING = CHECKPOINTS_DIR / "embedding-voices.ckpt"
#: shipped pipeline: the two checkpoints above, hyper-parameters tuned on Mini development
DEFAULT_CONFIG = CHECKPOINTS_DIR / "config.yaml"

PathOrModel = Union[Model, Text, Path, Mapping]

__all__ = [
    "CHECKPOINTS_DIR",
    "DEFAULT_SEGMENTATION",
    "DEFAULT_EMBEDDING",
    "DEFAULT_CONFIG",
    "config_dir",
    "is_url",
    "resolve_checkpoint",
    "load_model",
    "save_checkpoint",
    "random_segmentation_checkpoint",
    "random_embedding_checkpoint",
    "fuse_batch_norm",
]


def config_dir() -> Optional[Path]:
    """Directory of the config.yaml being loaded by ``Pipeline.from_pretrained``, if any.

    pyannote.audio 3.4 ``Pipeline.from_pretrained`` instantiates the pipeline with the
    ``pipeline: params:`` of config.yaml as they are: it does not resolve relative
    checkpoint paths. When a pipeline is instantiated from within
    ``Pipeline.from_pretrained`` (any subclass), this returns the directory holding the
    config file (read from that call's ``config_yml`` local variable), so that relative
    paths can be resolved against it whatever the current working directory.

    Returns
    -------
    directory : Path or None
        None when not called (directly or indirectly) by ``Pipeline.from_pretrained``.
    """
    code = PyannotePipeline.from_pretrained.__func__.__code__
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code is code:
                config_yml = frame.f_locals.get("config_yml")
                return Path(config_yml).resolve().parent if config_yml else None
            frame = frame.f_back
    finally:
        del frame
    return None


def is_url(location: Union[Text, Path]) -> bool:
    """Whether `location` is a URL (``http://...``, ``s3://...``): what is never downloaded"""
    text = str(location)
    return "://" in text or urlparse(text).scheme in ("http", "https", "ftp", "file")


def resolve_checkpoint(checkpoint: Union[Text, Path], default: Path) -> Path:
    """Resolve a local checkpoint path.

    Parameters
    ----------
    checkpoint : str or Path or None
        Absolute path, or path relative to the config.yaml being loaded by
        ``Pipeline.from_pretrained`` (see :func:`config_dir`), or relative to the
        current working directory otherwise. None means `default`.
    default : Path
        Checkpoint used when `checkpoint` is None.

    Returns
    -------
    path : Path
        Existing checkpoint path.

    Raises
    ------
    FileNotFoundError
        When the checkpoint does not exist (models are never downloaded).
    ValueError
        When `checkpoint` is a URL.
    """
    if checkpoint is not None and is_url(checkpoint):
        raise ValueError(f"checkpoint '{checkpoint}' is a URL: checkpoints are never downloaded. Download it "
                         "yourself from a source you trust and give its local path.")
    path = Path(default if checkpoint is None else checkpoint).expanduser()
    if not path.is_absolute():
        base = config_dir()
        if base is not None and (base / path).is_file():
            path = base / path
    if not path.is_file():
        hint = (
            " This default checkpoint is committed with pyannote_resnet50; pass another "
            "checkpoint path or a Model instance."
            if checkpoint is None
            else ""
        )
        raise FileNotFoundError(f"checkpoint '{path}' does not exist (models are never downloaded).{hint}")
    return path.resolve()


def load_model(model: PathOrModel, default: Path) -> Model:
    """Load a pyannote.audio model from a local checkpoint and set it in `eval` mode.

    Parameters
    ----------
    model : Model, str, Path, dict or None
        `Model` instance (used as is), checkpoint path (see :func:`resolve_checkpoint`),
        or ``Model.from_pretrained`` keyword arguments whose "checkpoint" is a local path.
    default : Path
        Checkpoint used when `model` is None.

    Returns
    -------
    model : Model

    Raises
    ------
    UnsafeCheckpointError
        When the checkpoint holds types outside the safe loader's allow-list, or names a
        model class outside pyannote.audio and pyannote_resnet50 (nothing in it is run).
    """
    if isinstance(model, Model):
        return model.eval()
    if isinstance(model, Mapping):
        kwargs = dict(model)
    elif model is None or isinstance(model, (str, Path)):
        kwargs = {"checkpoint": model}
    else:
        raise TypeError(f"unsupported model type {type(model).__name__}: expected Model, path or dict.")
    kwargs["checkpoint"] = resolve_checkpoint(kwargs.get("checkpoint"), default)
    # the safe loader first: a refused checkpoint is named, and Model.from_pretrained only
    # imports the (allow-listed) model class it names
    model_class(load_checkpoint(kwargs["checkpoint"]), kwargs["checkpoint"])
    kwargs.setdefault("strict", False)
    kwargs.setdefault("map_location", torch.device("cpu"))
    # portable checkpoints need no allow-list; those written by stock pyannote.audio or
    # Lightning do (not `torch.serialization.safe_globals(...)`: leaving that context
    # manager removes the types from the process-wide allow-list)
    allow_pyannote_checkpoints()
    return Model.from_pretrained(**kwargs).eval()


def random_segmentation_checkpoint(
    path: Union[Text, Path],
    duration: float = 10.0,
    max_speakers_per_chunk: int = 3,
    max_speakers_per_frame: Optional[int] = 2,
    **pyannet_kwargs,
) -> Path:
    """Save a randomly initialised PyanNet segmentation checkpoint

    For tests and speed benchmarks (its output is meaningless).

    Parameters
    ----------
    path : str or Path
    duration : float, optional
        Chunk duration, in seconds. Defaults to 10.
    max_speakers_per_chunk : int, optional
        Defaults to 3.
    max_speakers_per_frame : int, optional
        Powerset model with that many simultaneous speakers (default: 2);
        None for a multilabel model.
    **pyannet_kwargs
        ``PyanNet`` arguments (e.g. ``lstm={"hidden_size": 32, "num_layers": 1}``
        for a tiny model). Defaults to PyanNet's (pyannote.audio's recipe).

    Returns
    -------
    path : Path
    """
    from pyannote.audio.models.segmentation import PyanNet

    model = PyanNet(**pyannet_kwargs)
    model.specifications = Specifications(
        problem=Problem.MULTI_LABEL_CLASSIFICATION
        if max_speakers_per_frame is None
        else Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=duration,
        min_duration=duration,
        warm_up=(0.0, 0.0),
        classes=[f"speaker#{i + 1}" for i in range(max_speakers_per_chunk)],
        powerset_max_classes=max_speakers_per_frame,
        permutation_invariant=True,
    )
    model.build()
    return save_checkpoint(model, path)


def random_embedding_checkpoint(path: Union[Text, Path], architecture: Optional[type] = None, **kwargs) -> Path:
    """Save a randomly initialised embedding checkpoint

    For tests and speed benchmarks (its output is meaningless).

    Parameters
    ----------
    path : str or Path
    architecture : Model subclass, optional
        Defaults to :class:`pyannote_resnet50.models.ResNet50`; e.g.
        ``pyannote.audio.models.embedding.WeSpeakerResNet34`` for pyannote's stock one.
    **kwargs
        Architecture arguments (e.g. ``base_width=8`` for a tiny ResNet50).

    Returns
    -------
    path : Path
    """
    if architecture is None:
        from pyannote_resnet50.models import ResNet50 as architecture

    model = architecture(**kwargs)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0, min_duration=3.0
    )
    return save_checkpoint(model, path)


def fuse_batch_norm(model: Model, atol: float = 1e-3) -> Model:
    """Copy of `model` whose BatchNorm2d layers are folded into the preceding Conv2d

    Inference-only speed-up of convolutional trunks (batch normalisation and the
    memory traffic it costs disappear), with weights stored channels-last for oneDNN's
    CPU convolutions. Within every module, a ``Conv2d`` child
    registered immediately before a ``BatchNorm2d`` child is assumed to feed it (true
    of torchvision and WeSpeaker ResNets); the fused copy is only returned when its
    ``forward_frames`` matches the original's on a random input.

    Parameters
    ----------
    model : Model
        Model in `eval` mode, with ``forward_frames``.
    atol : float, optional
        Tolerance of the check, relative to the largest output magnitude.

    Returns
    -------
    fused : Model
        Fused copy, or `model` itself when nothing was fused or the check failed.
    """
    import copy

    import torch.nn as nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(model).eval()
    num_fused = 0
    for module in list(fused.modules()):
        children = list(module.named_children())
        for (conv_name, conv), (bn_name, bn) in zip(children[:-1], children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
                num_fused += 1
    if num_fused == 0:
        return model
    # channels-last weights select oneDNN's fast 2-D convolutions on CPU (2.5x faster
    # forward_frames of ResNet50 at base width 8, measured on 2 cores; same output)
    fused = fused.to(memory_format=torch.channels_last)

    generator = torch.Generator().manual_seed(0)
    waveform = 0.1 * torch.randn(1, 1, 2 * model.hparams.sample_rate, generator=generator)
    with torch.inference_mode():
        expected = model.eval().forward_frames(waveform.to(model.device))
        actual = fused.forward_frames(waveform.to(model.device))
    scale = max(1.0, expected.abs().max().item())
    if expected.shape != actual.shape or (expected - actual).abs().max().item() > atol * scale:
        return model
    return fused

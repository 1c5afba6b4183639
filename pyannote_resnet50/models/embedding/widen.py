"""Function-preserving widening of a trained ResNet50 (Net2WiderNet)

A ResNet50 of ``base_width`` C becomes one of ``factor`` x C that computes the same
embedding (Chen, Goodfellow and Shlens, "Net2Net: accelerating learning via knowledge
transfer", ICLR 2016): every channel of every stage is copied ``factor`` times, and the
layer reading the copies gets the original weight split between them, so that the sums
are unchanged. Training the wide model then starts from what the narrow one learnt
instead of from scratch: on 2 CPU cores, hours of training of the narrow model are
not thrown away when capacity is what limits it.

* Output channels (convolutions, batch norms) are tiled: channel ``j`` of the wide
  layer is channel ``j % C`` of the narrow one, for every layer, so that residual sums
  and the downsampling shortcuts stay aligned.
* Input channels are split: the ``factor`` copies of an input channel share its weight
  in random proportions (a Dirichlet draw per channel, the same for every output
  channel), which keeps the sum exact and differs between copies.
* The statistics pooling concatenates means and standard deviations of
  (channel x frequency) features: the embedding layer's input is split the same way
  within each of the two halves. Copies of a channel have the same mean and standard
  deviation, so the embedding is unchanged.
* Identical copies would receive gradients in the same direction for ever (Adam
  normalises their scale away): ``noise`` adds Gaussian noise of that fraction of
  each widened convolution's weight standard deviation to break the symmetry, at the
  cost of a small change of the function (``noise=0`` preserves it exactly).
* A trainable loss (the ArcFace class centres, ``loss_func.*``) is kept unchanged: the
  embedding dimension does not change, so ``model=FineTune`` resumes with the trained
  head when the identities are the same (:func:`pyannote_resnet50.cli.train.pretrained`).

Command line::

    python -m pyannote_resnet50.models.embedding.widen NARROW.ckpt WIDE.ckpt [--factor 2] [--noise 0.02]
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple, Union

import torch

from pyannote_resnet50.models.checkpoint import LOSS_PREFIX

__all__ = ["widen_state_dict", "widen_checkpoint"]


def _split(tensor: torch.Tensor, dim: int, shares: torch.Tensor) -> torch.Tensor:
    """Concatenate ``factor`` copies of `tensor` along `dim`, copy ``i`` scaled by ``shares[i]``

    `shares` is (factor, tensor.shape[dim]) and sums to 1 over copies.
    """
    shape = [1] * tensor.dim()
    shape[dim] = tensor.shape[dim]
    return torch.cat([tensor * share.reshape(shape) for share in shares], dim=dim)


def widen_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    hparams: Mapping,
    factor: int = 2,
    noise: float = 0.02,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Widen the weights of a :class:`~pyannote_resnet50.models.embedding.ResNet50`

    Parameters
    ----------
    state_dict : dict
        Weights of the narrow model (``loss_func.*`` entries are kept as they are).
    hparams : dict
        Its constructor hyper-parameters (``base_width`` among them).
    factor : int, optional
        Width multiplier. Defaults to 2 (e.g. width 16 -> 32).
    noise : float, optional
        Standard deviation of the symmetry-breaking noise, as a fraction of each widened
        convolution's weight standard deviation. Defaults to 0.02; 0 keeps the function exactly.
    generator : torch.Generator, optional
        Random generator of the split proportions and of the noise.

    Returns
    -------
    state_dict, hparams
        Weights and hyper-parameters of the wide model.

    Raises
    ------
    ValueError
        For a factor below 2, or weights that are not those of a ResNet50 of `hparams`.
    """
    from .resnet50 import ResNet50

    factor = int(factor)
    if factor < 2:
        raise ValueError(f"factor must be an integer of at least 2 (got {factor}).")
    if noise < 0:
        raise ValueError(f"noise must be non-negative (got {noise}).")
    narrow_hparams = dict(hparams)
    wide_hparams = {**narrow_hparams, "base_width": int(narrow_hparams["base_width"]) * factor}
    narrow_model = ResNet50(**narrow_hparams)
    narrow = narrow_model.state_dict()
    target = ResNet50(**wide_hparams).state_dict()
    missing = sorted(set(narrow) - set(state_dict))
    if missing:
        raise ValueError(
            f"the weights are not those of a ResNet50 with {narrow_hparams}: "
            f"{len(missing)} tensors are missing, e.g. {', '.join(missing[:3])}."
        )

    def shares(num_channels: int) -> torch.Tensor:
        # Dirichlet(1, ..., 1) proportions of each input channel among its copies
        draw = -torch.log(torch.rand(factor, num_channels, generator=generator).clamp_min(1e-12))
        return draw / draw.sum(dim=0, keepdim=True)

    widened: Dict[str, torch.Tensor] = {}
    for name, value in state_dict.items():
        if name.startswith(LOSS_PREFIX):
            widened[name] = value.clone()
            continue
        if name not in target:
            raise ValueError(f"'{name}' is not a weight of a ResNet50 with {narrow_hparams}.")
        if value.shape != narrow[name].shape:
            raise ValueError(
                f"'{name}' has shape {tuple(value.shape)}, not {tuple(narrow[name].shape)} as a "
                f"ResNet50 with {narrow_hparams}."
            )
        new_shape = target[name].shape
        if new_shape == value.shape:
            widened[name] = value.clone()
            continue
        if name == "embedding.weight":
            # input: [means | stds] of (channel, frequency) features, channel-major
            bins = narrow_model._frequency_bins
            channels = narrow_model.frame_features // bins
            weight = value.reshape(value.shape[0], 2, channels, bins)
            weight = _split(weight, 2, shares(channels))
            widened[name] = weight.reshape(new_shape)
            continue
        weight = value
        if weight.dim() >= 2 and new_shape[1] == factor * weight.shape[1]:
            weight = _split(weight, 1, shares(weight.shape[1]))
        if new_shape[0] == factor * weight.shape[0]:
            weight = torch.cat([weight] * factor, dim=0)
        if weight.shape != new_shape:
            raise ValueError(f"cannot widen '{name}' from {tuple(value.shape)} to {tuple(new_shape)}.")
        if weight.dim() >= 2 and noise > 0:
            scale = noise * value.float().std()
            weight = weight + scale * torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
        widened[name] = weight.contiguous()
    return widened, wide_hparams


def widen_checkpoint(
    checkpoint: Union[str, Path],
    output: Union[str, Path],
    factor: int = 2,
    noise: float = 0.02,
    seed: int = 0,
) -> Path:
    """Write the widened copy of a ResNet50 checkpoint (portable, loadable with ``Model.from_pretrained``)

    Parameters
    ----------
    checkpoint : str or Path
        Slim or full (training) checkpoint of a ResNet50. Optimizer and trainer states
        are dropped; the ArcFace head of a training checkpoint is kept.
    output : str or Path
        The wide checkpoint.
    factor, noise : see :func:`widen_state_dict`
    seed : int, optional
        Seed of the split proportions and of the noise.
    """
    from pyannote_resnet50.models.checkpoint import rewrite_checkpoint

    from .resnet50 import ResNet50

    generator = torch.Generator().manual_seed(seed)
    return rewrite_checkpoint(
        checkpoint, output, ResNet50, "widened",
        lambda state_dict, hparams: widen_state_dict(state_dict, hparams, factor=factor, noise=noise, generator=generator),
    )


def main(argv: Optional[list] = None) -> None:
    """``python -m pyannote_resnet50.models.embedding.widen NARROW WIDE [--factor F] [--noise N] [--seed S]``"""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.models.embedding.widen",
        description="Widen a trained ResNet50 (Net2WiderNet: same embedding, FACTOR times the channels), "
        "to fine-tune a wider model from a narrow one with model=FineTune.",
    )
    parser.add_argument("checkpoint", type=Path, help="narrow ResNet50 checkpoint (slim or training)")
    parser.add_argument("output", type=Path, help="wide checkpoint to write")
    parser.add_argument("--factor", type=int, default=2, help="width multiplier (default: 2)")
    parser.add_argument("--noise", type=float, default=0.02,
                        help="symmetry-breaking noise, fraction of each weight's standard deviation (default: 0.02)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    try:
        output = widen_checkpoint(args.checkpoint, args.output, factor=args.factor, noise=args.noise, seed=args.seed)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(f"wide checkpoint: {output} ({output.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

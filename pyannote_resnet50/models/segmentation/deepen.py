"""Deepening a trained PyanNet segmentation: more LSTM layers, starting near what it learnt

pyannote.audio's ``segmentation-3.0`` stacks four bidirectional LSTM layers on SincNet; the
segmentations of this project stack two (``lstm.num_layers=2``, 0.68 M parameters). Training a
four-layer model from scratch on 2 CPU cores would throw away the hours its two lower layers
took. This module appends LSTM layers that start as a **pointwise near-identity** instead
(the idea of Net2DeeperNet: Chen, Goodfellow and Shlens, ICLR 2016, for an LSTM):

* every new layer's input, forget and output gates are saturated by their biases (input and
  output gates open, forget gate shut), its recurrent weights are zero, and unit ``j`` of its
  forward (backward) direction reads only unit ``j`` of the forward (backward) half of its
  input, with weight ``gain``: its output is ``tanh(tanh(gain * x))`` of its input ``x``,
  frame by frame, unit by unit (no memory), a monotone squashing of what the lower layers
  computed;
* the linear layers and the classifier above are kept: they read a squashed copy of the
  features they were trained on, so the deepened model's output starts close to the original's
  (:func:`deepen_state_dict` does not need data; ``python -m ... --check AUDIO`` prints the
  agreement of the two on a recording);
* every other weight is copied. A training checkpoint's optimizer and trainer states are
  dropped: ``model=FineTune model.checkpoint=DEEP.ckpt`` then trains it as a new model.

Command line::

    python -m pyannote_resnet50.models.segmentation.deepen SHALLOW.ckpt DEEP.ckpt [--num-layers 4] [--check AUDIO]
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple, Union

import torch

__all__ = ["deepen_state_dict", "deepen_checkpoint", "segmentation_agreement"]

#: bias (logit) saturating a gate: sigmoid(6) = 0.9975
SATURATION = 6.0


def deepen_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    hparams: Mapping,
    num_layers: int = 4,
    gain: float = 1.0,
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Append LSTM layers that start as a pointwise near-identity to a PyanNet state dict

    Parameters
    ----------
    state_dict : mapping
        PyanNet weights (``lstm.weight_ih_l0``...), monolithic LSTM.
    hparams : mapping
        Its hyper-parameters (``lstm.hidden_size``, ``lstm.num_layers``, ``lstm.bidirectional``).
    num_layers : int, optional
        LSTM layers of the deepened model. Defaults to 4 (pyannote's segmentation-3.0).
    gain : float, optional
        Input weight of a new unit (its output is ``tanh(tanh(gain * x))``). Defaults to 1.0.

    Returns
    -------
    state_dict, hparams
        Of the deepened model (inputs are not modified).
    """
    lstm = dict(hparams["lstm"])
    if not lstm.get("monolithic", True):
        raise ValueError("only a monolithic LSTM (lstm.monolithic=true, PyanNet's default) can be deepened.")
    old = int(lstm["num_layers"])
    if num_layers <= old:
        raise ValueError(f"the model already has {old} LSTM layers: ask for more (--num-layers {old + 1} or above).")
    hidden = int(lstm["hidden_size"])
    directions = ("", "_reverse") if lstm.get("bidirectional", True) else ("",)
    width = hidden * len(directions)
    dtype = state_dict[f"lstm.weight_hh_l{old - 1}"].dtype

    deep = {name: tensor.clone() for name, tensor in state_dict.items()}
    units = torch.arange(hidden)
    for layer in range(old, num_layers):
        for direction, suffix in enumerate(directions):
            # PyTorch's gate order: input, forget, cell (g), output
            weight_ih = torch.zeros(4 * hidden, width, dtype=dtype)
            weight_ih[2 * hidden + units, direction * hidden + units] = gain
            bias_ih = torch.zeros(4 * hidden, dtype=dtype)
            bias_ih[:hidden] = SATURATION
            bias_ih[hidden:2 * hidden] = -SATURATION
            bias_ih[3 * hidden:] = SATURATION
            deep[f"lstm.weight_ih_l{layer}{suffix}"] = weight_ih
            deep[f"lstm.weight_hh_l{layer}{suffix}"] = torch.zeros(4 * hidden, hidden, dtype=dtype)
            deep[f"lstm.bias_ih_l{layer}{suffix}"] = bias_ih
            deep[f"lstm.bias_hh_l{layer}{suffix}"] = torch.zeros(4 * hidden, dtype=dtype)
    hparams = copy.deepcopy(dict(hparams))
    hparams["lstm"] = {**lstm, "num_layers": num_layers}
    return deep, hparams


def deepen_checkpoint(
    checkpoint: Union[str, Path],
    output: Union[str, Path],
    num_layers: int = 4,
    gain: float = 1.0,
) -> Path:
    """Write the deepened copy of a PyanNet checkpoint (portable, loadable with ``Model.from_pretrained``)

    Parameters
    ----------
    checkpoint : str or Path
        Slim or full (training) checkpoint of a PyanNet segmentation.
    output : str or Path
        The deepened checkpoint.
    num_layers, gain : see :func:`deepen_state_dict`
    """
    from pyannote.audio.models.segmentation import PyanNet

    from pyannote_resnet50.models.checkpoint import rewrite_checkpoint

    return rewrite_checkpoint(
        checkpoint, output, PyanNet, "deepened",
        lambda state_dict, hparams: deepen_state_dict(state_dict, hparams, num_layers=num_layers, gain=gain),
    )


def segmentation_agreement(original, deepened, waveform: torch.Tensor, duration: float) -> float:
    """Share of frames where two segmentation models agree on the most likely (powerset) class

    Parameters
    ----------
    original, deepened : Model
        Segmentation models with the same specifications.
    waveform : (channel, sample) torch.Tensor
        Audio at the models' sample rate.
    duration : float
        Chunk duration (s) the waveform is cut into (no overlap; the last partial chunk is dropped).

    Returns
    -------
    agreement : float
        In [0, 1].
    """
    samples = int(duration * original.hparams.sample_rate)
    num_chunks = waveform.shape[-1] // samples
    if num_chunks < 1:
        raise ValueError(f"the audio is shorter than one {duration:g} s chunk.")
    chunks = waveform[..., : num_chunks * samples].reshape(waveform.shape[0], num_chunks, samples).transpose(0, 1)
    with torch.inference_mode():
        a = original.eval()(chunks).argmax(dim=-1)
        b = deepened.eval()(chunks).argmax(dim=-1)
    return float((a == b).float().mean())


def main(argv: Optional[list] = None) -> None:
    """``python -m pyannote_resnet50.models.segmentation.deepen SHALLOW DEEP [--num-layers N] [--gain G] [--check AUDIO]``"""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.models.segmentation.deepen",
        description="Deepen a trained PyanNet segmentation (LSTM layers appended as a pointwise near-identity), "
        "to fine-tune a deeper model from a shallow one with model=FineTune.",
    )
    parser.add_argument("checkpoint", type=Path, help="PyanNet checkpoint (slim or training)")
    parser.add_argument("output", type=Path, help="deepened checkpoint to write")
    parser.add_argument("--num-layers", type=int, default=4, help="LSTM layers of the deepened model (default: 4)")
    parser.add_argument("--gain", type=float, default=1.0, help="input weight of a new unit (default: 1.0)")
    parser.add_argument("--check", type=Path, metavar="AUDIO",
                        help="print the frame agreement (powerset class) of both models on this recording")
    args = parser.parse_args(argv)
    if args.check is not None and not args.check.is_file():
        parser.error(f"--check {args.check}: no such file (give a recording, e.g. pyannote.audio's sample.wav).")
    try:
        output = deepen_checkpoint(args.checkpoint, args.output, num_layers=args.num_layers, gain=args.gain)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(f"deepened checkpoint: {output} ({output.stat().st_size / 1e6:.1f} MB)")
    if args.check is not None:
        from pyannote.audio import Model

        from pyannote_resnet50.core.io import load_audio
        from pyannote_resnet50.models.checkpoint import training_checkpoint_globals

        with training_checkpoint_globals():
            original = Model.from_pretrained(args.checkpoint, map_location="cpu")
            deepened = Model.from_pretrained(output, map_location="cpu")
        duration = original.specifications.duration
        try:  # soundfile's decoding errors are RuntimeErrors
            waveform = torch.from_numpy(load_audio(args.check))[None]
            agreement = segmentation_agreement(original, deepened, waveform, duration)
        except (RuntimeError, ValueError) as error:
            parser.exit(2, f"{parser.prog}: error: --check {args.check}: {error} (the deepened checkpoint is written; "
                        f"give a readable recording of at least {duration:g} s to compare the two models).\n")
        print(f"frame agreement with {args.checkpoint.name} on {args.check.name} ({duration:g} s chunks): {agreement:.1%}")


if __name__ == "__main__":
    main()

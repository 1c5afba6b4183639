#!/usr/bin/env python
"""Segmentation benchmark: speech detection and DER on real and simulated recordings, and
speech found in noise-only input.

For each segmentation checkpoint (``--segmentation NAME=CKPT``, repeatable), the pipeline
of ``--pipeline`` (default: the shipped one) with its segmentation swapped for that
checkpoint (same embedding, same hyper-parameters) diarizes:

* Mini test (simulated read speech, 15 files) and the 12 real AMI Debug excerpts, split
  into AMI *development* (2 files no segmentation model trained on) and AMI *train*
  (10 files: training data of the realistic segmentation, listed for completeness), and
  Conversations test (held-out Common Voice speakers, 10 files; audio built from
  ../shared/data when missing, the corpus skipped without it);
  pyannote.metrics ``DetectionErrorRate`` (missed detection, false alarm; no collar)
  and ``DiarizationErrorRate`` inside each file's UEM, and the share of the missed speech
  that lies in missed stretches shorter than 2 s (gaps the output leaves inside
  reference turns: where a corpus's labelling convention bridges pauses, this share is
  high and ``segmentation.min_duration_off`` is the lever, see ``--min-duration-off``);
* 30 s of white noise, 30 s of pink noise and the first 30 s of every held-out real
  noise file (``pyannote_resnet50.augmentation.HELD_OUT_NOISES``, never used for
  training): seconds of speech found (length of the output timeline).

Usage
-----
    python -W ignore recipes/benchmarks/segmentation.py \\
        --segmentation "Mini=pyannote_resnet50/data/checkpoints/segmentation-mini.ckpt" \\
        --segmentation "realistic=training_runs/segmentation/segmentation.ckpt" --plot docs/segmentation.png
    # the shipped pipeline with segmentation.min_duration_off set to 0.5 s and to 1 s
    python -W ignore recipes/benchmarks/segmentation.py --min-duration-off 0.5 --min-duration-off 1.0 \\
        --segmentation "realistic=pyannote_resnet50/data/checkpoints/segmentation-realistic.ckpt"
"""

import argparse
import os
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import yaml

NOISE_SECONDS = 30.0


SHORT_MISS = 2.0


def swapped_pipeline(config: Path, segmentation: Path, workdir: Path, min_duration_off: Optional[float] = None):
    """The pipeline of `config` with its segmentation checkpoint replaced by `segmentation`
    (and its ``segmentation.min_duration_off`` by `min_duration_off`, when given)."""
    from pyannote.audio import Pipeline

    data = yaml.safe_load(config.read_text())
    params = data["pipeline"]["params"]
    for key in ("segmentation", "embedding"):
        value = params.get(key)
        if isinstance(value, str) and not Path(value).is_absolute() and (config.parent / value).is_file():
            params[key] = str((config.parent / value).resolve())
    params["segmentation"] = str(Path(segmentation).resolve())
    if min_duration_off is not None:
        data["params"]["segmentation"]["min_duration_off"] = float(min_duration_off)
    path = workdir / f"{abs(hash((str(segmentation), min_duration_off)))}.yaml"
    path.write_text(yaml.safe_dump(data))
    return Pipeline.from_pretrained(path)


def noise_inputs(noise_dir: Path) -> Dict[str, np.ndarray]:
    """30 s noise-only waveforms (16 kHz): white, pink, every held-out noise file."""
    from pyannote_resnet50.augmentation import held_out_noise_files
    from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio

    n = int(NOISE_SECONDS * SAMPLE_RATE)
    rng = np.random.default_rng(0)
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    pink = np.fft.irfft(spectrum, n)
    inputs = {"white noise": white, "pink noise": pink}
    for path in held_out_noise_files(noise_dir):
        inputs[path.stem] = load_audio(path)[:n]
    # -26 dBFS, the level of the speech sources of the simulator
    return {k: (0.05 * v / (np.sqrt(np.mean(v**2)) + 1e-12)).astype(np.float32) for k, v in inputs.items()}


def score(pipeline, files: List[Dict]) -> Dict[str, float]:
    from pyannote.metrics.detection import DetectionErrorRate
    from pyannote.metrics.diarization import DiarizationErrorRate

    detection, der = DetectionErrorRate(collar=0.0), DiarizationErrorRate(collar=0.0, skip_overlap=False)
    missed, short = 0.0, 0.0
    for file in files:
        hypothesis = pipeline({"uri": file["uri"], "audio": file["audio"]})
        detection(file["annotation"], hypothesis, uem=file["annotated"])
        der(file["annotation"], hypothesis, uem=file["annotated"])
        # missed stretches: reference speech minus output speech, inside the UEM
        reference = file["annotation"].get_timeline().support().crop(file["annotated"])
        stretches = reference.extrude(hypothesis.get_timeline().support())
        missed += stretches.duration()
        short += sum(segment.duration for segment in stretches if segment.duration < SHORT_MISS)
    d = detection.accumulated_
    return {
        "miss": 100 * d["miss"] / d["total"],
        "false alarm": 100 * d["false alarm"] / d["total"],
        "DER": 100 * abs(der),
        "short miss": 100 * short / missed if missed else 0.0,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segmentation", action="append", required=True, help="NAME=CHECKPOINT (repeatable)")
    parser.add_argument("--pipeline", default=None, help="config.yaml (default: the shipped pipeline)")
    parser.add_argument("--min-duration-off", type=float, action="append", default=None,
                        help="also score each model with segmentation.min_duration_off set to this value "
                        "(seconds, repeatable; default: the pipeline's value only)")
    parser.add_argument("--noise-dir", type=Path, default=Path(__file__).resolve().parents[3] / "shared/data/noise/noise")
    parser.add_argument("--database", default=None, help="database.yml (default: the top-level one)")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the table there")
    args = parser.parse_args(argv)

    import torch
    from tqdm.auto import tqdm

    import pyannote_resnet50
    from pyannote_resnet50.core.io import SAMPLE_RATE
    from pyannote_resnet50.database import get_protocol
    from pyannote_resnet50.database.conversations import COMMON_VOICE, LONG, ensure_conversations

    torch.set_num_threads(2)
    config = Path(args.pipeline or pyannote_resnet50.DEFAULT_PIPELINE)
    mini = get_protocol("Mini.SpeakerDiarization.Simulated", database_yml=args.database)
    ami = get_protocol("AMI.SpeakerDiarization.Debug", database_yml=args.database)
    sets = {
        "Mini test": list(mini.test()),
        "AMI development (unseen)": list(ami.development()),
        "AMI train": list(ami.train()),
    }
    # held-out Common Voice speakers: audio built from ../shared/data when missing, skipped without it
    for label, corpus in (("Conversations test", COMMON_VOICE), ("Long conversations test", LONG)):
        if ensure_conversations(corpus=corpus):
            sets[label] = list(get_protocol(corpus.protocol, database_yml=args.database).test())
    noises = noise_inputs(args.noise_dir)

    runs = []
    for spec in args.segmentation:
        name, _, checkpoint = spec.partition("=")
        runs.append((name, checkpoint, None))
        runs.extend((f"{name}, min_duration_off {value:g} s", checkpoint, value) for value in args.min_duration_off or [])
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, checkpoint, min_duration_off in tqdm(runs, desc="segmentation models"):
            pipeline = swapped_pipeline(config, Path(checkpoint), Path(workdir), min_duration_off)
            row = {subset: score(pipeline, files) for subset, files in sets.items()}
            found = {}
            for noise, waveform in noises.items():
                output = pipeline({"uri": "noise", "waveform": torch.from_numpy(waveform)[None], "sample_rate": SAMPLE_RATE})
                found[noise] = output.get_timeline().support().duration()
            row["noise"] = found
            results[name] = row

    print("\n| segmentation | " + " | ".join(f"{s}: miss / FA / DER % (miss in < {SHORT_MISS:g} s stretches)" for s in sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for name, row in results.items():
        cells = [f"{row[s]['miss']:.2f} / {row[s]['false alarm']:.2f} / {row[s]['DER']:.2f} ({row[s]['short miss']:.0f} %)"
                 for s in sets]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nSpeech found in {NOISE_SECONDS:.0f} s of noise-only input (seconds):\n")
    print("| input | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for noise in noises:
        print(f"| {noise} | " + " | ".join(f"{row['noise'][noise]:.1f}" for row in results.values()) + " |")

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        width = 0.8 / len(results)
        for k, (name, row) in enumerate(results.items()):
            x = np.arange(len(sets) * 2)
            values = [row[s][m] for s in sets for m in ("miss", "false alarm")]
            axes[0].bar(x + k * width, values, width, label=name)
            axes[1].bar(np.arange(len(noises)) + k * width, list(row["noise"].values()), width, label=name)
        axes[0].set_xticks(np.arange(len(sets) * 2) + 0.4 - width / 2)
        axes[0].set_xticklabels([f"{s} {m}" for s in sets for m in ("miss", "FA")], rotation=30, ha="right", fontsize=7)
        axes[0].set_ylabel("% of reference speech")
        axes[1].set_xticks(np.arange(len(noises)) + 0.4 - width / 2)
        axes[1].set_xticklabels(list(noises), rotation=30, ha="right", fontsize=7)
        axes[1].set_ylabel(f"speech found in {NOISE_SECONDS:.0f} s (s)")
        axes[1].axhline(1.0, color="k", lw=0.5, ls="--")
        for ax in axes:
            ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

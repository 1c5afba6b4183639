"""Speaker embedding benchmark on Mini (CPU): EER after a fixed training budget, and speed.

    python recipes/benchmarks/embedding.py --minutes 10

For each model, trains with FileScopedSpeakerEmbedding on Mini.SpeakerDiarization.Simulated
train for `--minutes` of wall-clock time (Lightning's max_time), then reports the
development trial EER (all pairs, and within-file pairs) of:

* ResNet50 (pyannote_resnet50, `--base-width`),
* ResNet50 random init (the same model, untrained),
* WeSpeakerResNet34 (pyannote.audio), trained with the same task and budget,

and the forward throughput of both architectures in audio-seconds per second on CPU
(`--threads` torch threads) for 3 s and 10 s inputs. Figures depend on the machine and
on what else runs on it: budgets are wall-clock time.
"""

import argparse
import time
import warnings
from pathlib import Path

import torch
from pyannote.audio.models.embedding import WeSpeakerResNet34
from pytorch_lightning import Trainer, seed_everything

from pyannote_resnet50.database.registry import DATABASE_YML, get_protocol
from pyannote_resnet50.models import ResNet50
from pyannote_resnet50.tasks import FileScopedSpeakerEmbedding

PROTOCOL = "Mini.SpeakerDiarization.Simulated"
SAMPLE_RATE = 16000


def make_task(protocol, batch_size: int) -> FileScopedSpeakerEmbedding:
    """Task of recipes/mini/train_embedding.sh"""
    return FileScopedSpeakerEmbedding(
        protocol,
        duration=2.0,
        min_duration=1.0,
        min_turn_duration=1.0,
        validation_duration=1.5,
        min_speech_duration=3.0,
        num_classes_per_batch=batch_size,
        num_workers=0,
    )


def evaluate(model, minutes: float, root: Path):
    """Train `model` (attached to its task) for `minutes`, return validation metrics"""
    trainer = Trainer(
        max_time={"minutes": minutes} if minutes > 0 else None,
        max_epochs=1000 if minutes > 0 else 0,
        min_epochs=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
    )
    start = time.perf_counter()
    if minutes > 0:
        trainer.fit(model)
    trained = time.perf_counter() - start
    metrics = trainer.validate(model, verbose=False)[0]
    return trainer.global_step, trained, metrics


def throughput(model, duration: float, repeat: int) -> float:
    """Audio-seconds processed per second (batch of 1, inference mode)"""
    model.eval()
    waveform = torch.randn(1, 1, int(duration * SAMPLE_RATE))
    with torch.inference_mode():
        model(waveform)  # warm-up
        start = time.perf_counter()
        for _ in range(repeat):
            model(waveform)
        elapsed = time.perf_counter() - start
    return repeat * duration / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model (wall clock)")
    parser.add_argument("--base-width", type=int, default=8, help="ResNet50 base width")
    parser.add_argument("--batch-size", type=int, default=32, help="identities per batch")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--repeat", type=int, default=5, help="forward passes per throughput figure")
    parser.add_argument("--database", type=Path, default=DATABASE_YML, help="database.yml")
    parser.add_argument("--output", type=Path, default=Path("training_runs/benchmark-embedding"))
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    protocol = get_protocol(PROTOCOL, database_yml=args.database)

    models = {
        f"ResNet50 (base_width={args.base_width})": (
            lambda task: ResNet50(base_width=args.base_width, task=task),
            args.minutes,
        ),
        f"ResNet50 (base_width={args.base_width}), random init": (
            lambda task: ResNet50(base_width=args.base_width, task=task),
            0.0,
        ),
        "WeSpeakerResNet34 (pyannote.audio)": (lambda task: WeSpeakerResNet34(task=task), args.minutes),
    }

    print(f"protocol: {PROTOCOL} (train -> development trials), torch threads: {args.threads}")
    print(f"training budget: {args.minutes:g} min wall clock per model")
    print()
    print(f"{'model':<42} {'params':>7} {'steps':>6} {'train s':>8} {'EER':>7} {'EER within-file':>16} {'AUROC':>7}")
    speed = dict()
    for name, (build, minutes) in models.items():
        seed_everything(0, verbose=False)
        model = build(make_task(protocol, args.batch_size))
        steps, trained, metrics = evaluate(model, minutes, args.output / name.split()[0])
        num_params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("loss_func"))
        print(
            f"{name:<42} {num_params / 1e6:>6.1f}M {steps:>6d} {trained:>8.0f} "
            f"{metrics['EqualErrorRate']:>7.3f} {metrics['WithinFileEqualErrorRate']:>16.3f} "
            f"{metrics['AUROC']:>7.3f}"
        )
        if minutes > 0:
            speed[name] = {d: throughput(model, d, args.repeat) for d in (3.0, 10.0)}

    print()
    print(f"forward throughput (audio-seconds per second, CPU, {args.threads} threads, batch of 1)")
    print(f"{'model':<42} {'3 s input':>10} {'10 s input':>11}")
    for name, figures in speed.items():
        print(f"{name:<42} {figures[3.0]:>10.1f} {figures[10.0]:>11.1f}")


if __name__ == "__main__":
    main()

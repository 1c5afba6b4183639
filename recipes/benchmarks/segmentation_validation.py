"""Segmentation checkpoints scored by pyannote.audio's own validation on a development set.

The metric of ``pyannote-audio-train``'s development curve (``DiarizationErrorRate`` of the
``SpeakerDiarization`` task: 10 s chunks, each scored with the permutation of local speakers
that fits best, and its confusion / false alarm / miss parts), for checkpoints that were not
trained on that set: e.g. the shipped segmentation on the development conversations of a new
training recipe, the "before" of that run's curve.

Usage
-----
    python -W ignore recipes/benchmarks/segmentation_validation.py \\
        training_runs/segmentation-samecorpus/data/database.yml \\
        pyannote_resnet50/data/checkpoints/segmentation-voices.ckpt \\
        pyannote_resnet50/data/checkpoints/segmentation-samecorpus.ckpt

The protocol (``--protocol``, default the segmentation recipe's
``SegmentationTraining.SpeakerDiarization.Realistic``) is read from the given database.yml;
the task settings are those of ``recipes/segmentation/train.sh``.
"""

import argparse
import warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", help="database.yml holding the protocol")
    parser.add_argument("checkpoints", nargs="+", help="segmentation checkpoints (slim or training ones)")
    parser.add_argument("--protocol", default="SegmentationTraining.SpeakerDiarization.Realistic")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import pytorch_lightning as pl
    import torch
    from pyannote.audio import Model
    from pyannote.audio.tasks import SpeakerDiarization
    from pyannote.database import FileFinder, registry

    torch.set_num_threads(args.threads)
    registry.load_database(args.database)
    protocol = registry.get_protocol(args.protocol, preprocessors={"audio": FileFinder()})
    # the task settings of recipes/segmentation/train.sh
    task = SpeakerDiarization(protocol, duration=10.0, max_speakers_per_chunk=3, max_speakers_per_frame=2,
                              batch_size=32, num_workers=0)
    print(f"| checkpoint ({args.protocol} development) | DER | confusion | false alarm | miss |")
    print("|---|---:|---:|---:|---:|")
    for checkpoint in args.checkpoints:
        model = Model.from_pretrained(checkpoint)
        model.task = task
        trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = trainer.validate(model, verbose=False)[0]
        parts = ["DiarizationErrorRate"] + [f"DiarizationErrorRate/{k}" for k in ("Confusion", "FalseAlarm", "Miss")]
        print(f"| {checkpoint} | " + " | ".join(f"{float(scores[k]):.3f}" for k in parts) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

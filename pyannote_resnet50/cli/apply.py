"""``pyannote-resnet50 apply``: diarize a protocol subset and write one RTTM file.

Example
-------
    pyannote-resnet50 apply exp/pipeline/config.yaml Mini.SpeakerDiarization.Simulated \\
        --subset test --output hyp.rttm
    PYANNOTE_DATABASE_CONFIG=database.yml \\
        pyannote-metrics diarization --subset=test Mini.SpeakerDiarization.Simulated hyp.rttm
"""

import argparse
from pathlib import Path
from typing import List, Optional

import torch

from pyannote_resnet50.cli.optimize import add_runtime_arguments, setup_runtime


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 apply",
        description="Apply a diarization pipeline to every file of a protocol subset and write "
        "their diarization to one RTTM file (to be scored with `pyannote-metrics diarization`).",
    )
    parser.add_argument("pipeline", help="config.yaml written by `pyannote-resnet50 optimize` (or any "
                        "pyannote.audio pipeline config.yaml), or 'default' (the shipped pipeline: Mini checkpoints, "
                        "hyper-parameters tuned on Mini development), or 'oracle' (oracle segmentation: upper bound)")
    parser.add_argument("protocol", help="e.g. Mini.SpeakerDiarization.Simulated")
    parser.add_argument("--subset", default="test", help="default: test")
    parser.add_argument("--output", required=True, help="output RTTM file")
    parser.add_argument("--num-speakers", type=int, default=None, help="known number of speakers")
    parser.add_argument("--min-speakers", type=int, default=None)
    parser.add_argument("--max-speakers", type=int, default=None)
    parser.add_argument("--oracle-num-speakers", action="store_true",
                        help="pass each file's reference number of speakers as num_speakers")
    add_runtime_arguments(parser)
    return parser.parse_args(argv)


def load_pipeline(name: str):
    """Pipeline from a config.yaml path, or "default", or "oracle"."""
    from pyannote.audio import Pipeline

    from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization
    from pyannote_resnet50.pipelines.utils import DEFAULT_CONFIG

    if name == "default":
        return Pipeline.from_pretrained(DEFAULT_CONFIG)
    if name == ORACLE:
        pipeline = SpeakerDiarization(segmentation=ORACLE)
        return pipeline.instantiate(pipeline.default_parameters())
    if not Path(name).is_file():
        raise FileNotFoundError(f"pipeline config '{name}' does not exist (pipelines are never downloaded).")
    return Pipeline.from_pretrained(name)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_runtime(args)

    from tqdm.auto import tqdm

    from pyannote_resnet50.database import get_protocol

    pipeline = load_pipeline(args.pipeline).to(torch.device(args.device))
    protocol = get_protocol(args.protocol, database_yml=args.database)
    files = list(getattr(protocol, args.subset)())

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as rttm:
        for file in tqdm(files, desc=f"{args.protocol} {args.subset}", unit="file"):
            num_speakers = args.num_speakers
            if args.oracle_num_speakers:
                num_speakers = len(file["annotation"].labels())
            # the pipeline only sees the audio (the reference only with oracle segmentation)
            inputs = {"uri": file["uri"], "audio": file["audio"]}
            if getattr(pipeline, "oracle", False):
                inputs["annotation"] = file["annotation"]
            diarization = pipeline(
                inputs,
                num_speakers=num_speakers,
                min_speakers=args.min_speakers,
                max_speakers=args.max_speakers,
            )
            diarization.write_rttm(rttm)
    print(f"wrote {output} ({len(files)} files)")
    return 0

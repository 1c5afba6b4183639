"""``pyannote-resnet50 apply``: diarize a protocol subset and write one RTTM file.

Each file's diarization is first written, atomically, to ``OUTPUT.d/{uri}.rttm`` (and
``{uri}.png`` with ``--plot``); OUTPUT is assembled from them, atomically, once every file
of the subset has one. Running the same command again skips the files already done.

Example
-------
    pyannote-resnet50 apply exp/pipeline/config.yaml Mini.SpeakerDiarization.Simulated \\
        --subset test --output hyp.rttm
    PYANNOTE_DATABASE_CONFIG=database.yml \\
        pyannote-metrics diarization --subset=test Mini.SpeakerDiarization.Simulated hyp.rttm
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from pyannote_resnet50.cli.optimize import add_runtime_arguments, setup_runtime
from pyannote_resnet50.core.atomic import atomic_write
from pyannote_resnet50.core.batch import (
    Job,
    add_batch_arguments,
    check_batch_arguments,
    check_output_dir,
    check_pipeline_options,
    check_settings,
    load_pipeline,
    pipeline_fingerprint,
    plural,
    run_jobs,
    score,
    select_shard,
)
from pyannote_resnet50.core.uri import check_uris, output_path

__all__ = ["main", "parse_args", "load_pipeline"]

SUBSETS = ("train", "development", "test")  # --subset choices: argparse lists them for any other name


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pyannote-resnet50 apply",
        description="Apply a diarization pipeline to every file of a protocol subset and write their "
        "diarization to one RTTM file (to be scored with `pyannote-metrics diarization`). Per-file RTTMs go "
        "to OUTPUT.d/ first: a rerun skips finished files, a failing file is reported and the others go on "
        "(exit code 1 when any failed), and OUTPUT is written once every file is done.",
    )
    parser.add_argument("pipeline", help="config.yaml written by `pyannote-resnet50 optimize` (or any "
                        "pyannote.audio pipeline config.yaml), or 'default' (the shipped pipeline, "
                        "pyannote_resnet50.DEFAULT_PIPELINE: segmentation trained on realistic simulated "
                        "conversations and AMI, embedding trained on ReadSpeech, hyper-parameters tuned on Mini "
                        "development), or 'oracle' (oracle segmentation: upper bound)")
    parser.add_argument("protocol", help="e.g. Mini.SpeakerDiarization.Simulated")
    parser.add_argument("--subset", default="test", choices=SUBSETS, help="default: test")
    parser.add_argument("--output", required=True, type=Path,
                        help="output RTTM file (per-file RTTMs, and PNGs with --plot, in OUTPUT.d/)")
    parser.add_argument("--oracle-num-speakers", action="store_true",
                        help="pass each file's reference number of speakers as num_speakers")
    add_batch_arguments(parser)
    add_runtime_arguments(parser)
    args = parser.parse_args(argv)
    check_batch_arguments(parser, args)
    if args.oracle_num_speakers and (args.num_speakers or args.min_speakers or args.max_speakers):
        parser.error("--oracle-num-speakers sets the number of speakers: drop --num/min/max-speakers")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_runtime(args)

    def refuse(message) -> int:
        print(f"pyannote-resnet50 apply: error: {message}", file=sys.stderr)
        return 2

    import torch

    from pyannote_resnet50.database.registry import get_protocol, protocol_subset

    output_dir = args.output.with_name(args.output.name + ".d")
    try:  # unknown protocol, subset the protocol lacks, malformed annotation files: say what to fix
        if args.output.is_dir():
            raise ValueError(f"--output '{args.output}' is a folder: give the path of the RTTM file to write "
                             f"(per-file outputs go to '{output_dir}').")
        check_output_dir(output_dir, option="the per-file folder of --output")
        protocol = get_protocol(args.protocol, database_yml=args.database)
        files = list(protocol_subset(protocol, args.subset))
        # uris name the per-file outputs: none may lead out of the output folder
        check_uris(file["uri"] for file in files)
        pipeline = load_pipeline(args.pipeline).to(torch.device(args.device))
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        return refuse(error)
    oracle = getattr(pipeline, "oracle", False)

    speakers = dict(num_speakers=args.num_speakers, min_speakers=args.min_speakers, max_speakers=args.max_speakers)
    options = {name: value for name, value in speakers.items() if value is not None}
    if args.exclusive:
        options["exclusive"] = True
    jobs, unresolved = [], []
    for file in select_shard(files, args.shard):
        source = f"{args.protocol} {args.subset} {file['uri']}"
        try:
            # the pipeline only sees the audio (and the reference only with oracle segmentation)
            inputs = {"uri": file["uri"], "audio": str(file["audio"])}
        except FileNotFoundError as error:
            unresolved.append((Job(uri=file["uri"], source=source, file={}), str(error)))
            continue
        if oracle:
            inputs["annotation"] = file["annotation"]
        job_options = dict(options)
        if args.oracle_num_speakers:
            job_options["num_speakers"] = len(file["annotation"].labels())
        jobs.append(Job(uri=file["uri"], source=source, file=inputs, options=job_options,
                        reference=file["annotation"], uem=file["annotated"] if "annotated" in file else None))
    if unresolved and not jobs:
        return refuse(unresolved[0][1])

    try:
        check_pipeline_options(pipeline, options)
        check_settings(output_dir, {"pipeline_sha256": pipeline_fingerprint(args.pipeline), **speakers,
                                    "exclusive": args.exclusive, "oracle_num_speakers": args.oracle_num_speakers},
                       overwrite=args.overwrite)
    except ValueError as error:
        return refuse(error)
    if args.overwrite:
        args.output.unlink(missing_ok=True)  # would be stale until every file is recomputed
    if args.workers > 1:
        del pipeline  # each worker loads its own
        pipeline = None

    failures = run_jobs(jobs, output_dir, pipeline, args.pipeline, device=args.device, plot=args.plot,
                        workers=args.workers, threads=args.threads, overwrite=args.overwrite,
                        desc=f"{args.protocol} {args.subset}", failed=unresolved)
    result = score(jobs, output_dir)
    if result:
        print(f"DER {100 * result[0]:.2f} % over {plural(result[1], 'file')} (pyannote.metrics, no collar, overlapped "
              "speech scored; `pyannote-metrics diarization` gives the details)")

    rttms = [output_path(output_dir, file["uri"], ".rttm") for file in files]
    missing = [rttm for rttm in rttms if not rttm.exists()]
    if missing:
        print(f"{args.output} not written: {len(missing)} of {plural(len(files), 'file')} of {args.protocol} "
              f"{args.subset} have no RTTM in {output_dir} yet (failed, or left to other shards); rerun to complete it",
              file=sys.stderr)
    else:
        with atomic_write(args.output) as output:
            for rttm in rttms:
                output.write(rttm.read_text())
        print(f"wrote {args.output} ({plural(len(files), 'file')})")
    return 1 if failures else 0

#!/usr/bin/env python
"""Diarization benchmark: accuracy on Mini, AMI and Conversations, speed and memory on long recordings.

Accuracy (pyannote.metrics: DER with its components, and JER; no collar, overlap
scored) on Mini.SpeakerDiarization.Simulated test, on the 12 real AMI excerpts
(AMI.SpeakerDiarization.Debug test) and on Conversations.SpeakerDiarization.CommonVoice
test (held-out Common Voice speakers; its audio is built from ../shared/data when
missing, the corpus skipped without it), side by side for

* ``ours``: pyannote_resnet50.pipelines.SpeakerDiarization (a tuned config.yaml with
  ``--pipeline``, else the committed checkpoints and default hyper-parameters);
* ``ours + oracle segmentation``: the same embeddings and clustering on the
  reference segmentation (UPPER BOUND: exact speech, overlap and local speakers);
* ``seed``: the approach this project started from: oracle speech turns of the
  RTTM, one embedding per turn, agglomerative clustering at a fixed threshold.

Speed (torch on 2 threads, CPU) on simulated 10- and 60-minute recordings: wall time
of the pipeline call, real-time factor, CPU time and peak resident memory, each run in
its own subprocess (CPU time and peak RSS from ``os.wait4``'s rusage of that child), for our pipeline and
pyannote.audio's stock SpeakerDiarization architecture (randomly initialised PyanNet
+ WeSpeakerResNet34, pyannote/speaker-diarization-3.1 settings; speed only).
Recordings longer than an hour repeat the simulated hour. The child also reports the
peak RSS reached by the end of each pipeline step (``recipes/benchmarks/memory.py``
prints them).

Usage
-----
    nice -n 10 python recipes/benchmarks/diarization.py
    python recipes/benchmarks/diarization.py --pipeline exp/pipeline/config.yaml --durations 600 3600
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: pyannote/speaker-diarization-3.1 settings of pyannote.audio's stock pipeline
STOCK_PIPELINE = {"segmentation_step": 0.1, "embedding_exclude_overlap": True,
                  "segmentation_batch_size": 32, "embedding_batch_size": 32}
STOCK_PARAMS = {"segmentation": {"min_duration_off": 0.0},
                "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7045654963945799}}


# ~~~~ systems ~~~~

def load_ours(pipeline: Optional[str], segmentation=None, embedding=None, oracle: bool = False):
    """Our pipeline, from a config.yaml or from checkpoints with default hyper-parameters."""
    from pyannote.audio import Pipeline

    from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization

    if pipeline is not None:
        tuned = Pipeline.from_pretrained(pipeline)
        if not oracle:
            return tuned
        # same embedding model and clustering, reference segmentation
        return tuned.oracle_twin()
    diarization = SpeakerDiarization(segmentation=ORACLE if oracle else segmentation, embedding=embedding)
    return diarization.instantiate(diarization.default_parameters())


class SeedBaseline:
    """Oracle speech turns, one embedding per turn, fixed-threshold agglomerative clustering

    Parameters
    ----------
    embedding : Model
        Embedding model (its ``forward``).
    threshold : float
        Cosine distance threshold of average-linkage clustering.
    """

    def __init__(self, embedding, threshold: float):
        from pyannote.audio import Audio

        self.model = embedding
        self.threshold = threshold
        self.audio = Audio(sample_rate=embedding.hparams.sample_rate, mono="downmix")

    def __call__(self, file):
        import numpy as np
        import torch
        from pyannote.core import Annotation, Segment
        from scipy.cluster.hierarchy import fcluster, linkage

        turns = [segment for segment, _ in file["annotation"].itertracks()]
        hypothesis = Annotation(uri=file["uri"])
        if not turns:
            return hypothesis
        embeddings = []
        for turn in turns:
            # at least 0.5 s so that the network sees enough frames
            middle, half = turn.middle, max(0.25, 0.5 * turn.duration)
            waveform, _ = self.audio.crop(file, Segment(max(0.0, middle - half), middle + half), mode="pad")
            with torch.inference_mode():
                embeddings.append(self.model(waveform[None]).cpu().numpy()[0])
        embeddings = np.vstack(embeddings)
        if len(turns) == 1:
            clusters = np.zeros(1, dtype=int)
        else:
            clusters = fcluster(linkage(embeddings, method="average", metric="cosine"),
                                self.threshold, criterion="distance")
        for turn, cluster in zip(turns, clusters):
            hypothesis[turn] = f"SPEAKER_{cluster:02d}"
        return hypothesis


# ~~~~ accuracy ~~~~

def accuracy(args) -> None:
    from pyannote_resnet50.core.evaluation import diarization_scores
    from pyannote_resnet50.database import get_protocol
    from pyannote_resnet50.database.conversations import CORPORA as CONVERSATIONS, ensure_conversations

    ours = load_ours(args.pipeline, args.segmentation, args.embedding)
    oracle = load_ours(args.pipeline, args.segmentation, args.embedding, oracle=True)
    seed = SeedBaseline(ours._embedding, threshold=args.seed_threshold)
    systems = [("ours", ours, False),
               ("ours + oracle segmentation (upper bound)", oracle, True),
               (f"seed: oracle speech turns + AHC @ {args.seed_threshold:g}", seed, True)]

    for name in args.protocols:
        if name in CONVERSATIONS and not ensure_conversations(corpus=name):  # builds missing audio from ../shared/data
            continue
        protocol = get_protocol(name)
        try:
            files = list(protocol.test())
            for file in files:
                file["audio"]  # audio is there (Mini is built by `pyannote-resnet50 mini`)
        except FileNotFoundError as error:
            print(f"\n{name} test: skipped ({str(error).splitlines()[-1]})")
            continue
        hours = sum(file["annotated"].duration() for file in files) / 3600
        print(f"\n{name} test: {len(files)} files, {60 * hours:.1f} min")
        print(f"| system | DER % | missed % | false alarm % | confusion % | JER % |")
        print(f"|---|---:|---:|---:|---:|---:|")
        per_file = {}
        for system_name, system, with_reference in systems:
            scores = diarization_scores(system, files, with_reference, jer=True)
            per_file[system_name] = scores["per file"]
            print(f"| {system_name} | {scores['DER']:.2f} | {scores['missed detection']:.2f} | "
                  f"{scores['false alarm']:.2f} | {scores['confusion']:.2f} | {scores['JER']:.2f} |", flush=True)
        if args.plot is not None:
            path = args.plot.with_name(f"{args.plot.stem}-{name.split('.')[0].lower()}{args.plot.suffix}")
            plot_per_file(per_file, f"{name} test: DER per file", path)


def plot_per_file(per_file: Dict[str, Dict[str, float]], title: str, path: Path) -> None:
    """Bar chart of the DER of every file, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    uris = list(next(iter(per_file.values())))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(uris)), 4))
    width = 0.8 / len(per_file)
    for k, (system, scores) in enumerate(per_file.items()):
        ax.bar(np.arange(len(uris)) + k * width, [scores[u] for u in uris], width, label=system)
    ax.set_xticks(np.arange(len(uris)) + 0.4 - width / 2)
    ax.set_xticklabels(uris, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("DER %")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


# ~~~~ speed ~~~~

#: longer recordings are this long simulated one repeated (the simulator holds a whole
#: recording in memory, and simulating hours takes long)
MAX_SIMULATED_DURATION = 3600.0


def simulate(directory: Path, duration: float, num_speakers: int = 4, seed: int = 0) -> Path:
    """Write a simulated `duration`-second recording of `num_speakers` LibriSpeech speakers.

    Recordings longer than ``MAX_SIMULATED_DURATION`` (1 hour) repeat the simulated hour
    (written block by block, without loading it): same speakers, same memory and time
    per hour as a longer simulation.
    """
    import numpy as np

    from pyannote_resnet50.core.io import save_audio
    from pyannote_resnet50.database.simulator import load_sources, simulate_recording

    path = directory / f"simulated-{int(duration)}s.wav"
    if path.is_file():
        return path
    if duration > MAX_SIMULATED_DURATION:
        import soundfile as sf

        source = simulate(directory, MAX_SIMULATED_DURATION, num_speakers=num_speakers, seed=seed)
        info = sf.info(str(source))
        remaining = int(round(duration * info.samplerate))
        partial = path.with_suffix(".partial.wav")
        with sf.SoundFile(str(partial), "w", info.samplerate, info.channels, subtype=info.subtype) as output:
            while remaining > 0:
                for block in sf.blocks(str(source), blocksize=min(remaining, 60 * info.samplerate), dtype="int16",
                                       frames=min(remaining, info.frames)):
                    output.write(block)
                    remaining -= len(block)
        partial.rename(path)
        return path
    sources = load_sources()
    rng = np.random.default_rng(seed)
    chosen = [sources[i] for i in rng.choice(len(sources), size=num_speakers, replace=False)]
    recording = simulate_recording(path.stem, chosen, duration, seed=seed)
    save_audio(path, recording.waveform)
    return path


class MemoryHook:
    """Pipeline hook recording the peak resident memory reached by the end of each step

    Passed as ``pipeline(file, hook=MemoryHook())``; ``steps`` maps each step name (in
    the order the pipeline reports them, plus "end" once :meth:`close` is called) to
    the process's peak RSS (``ru_maxrss``, MB) when that step last reported, so that the
    difference between consecutive steps is what each step added to the peak.
    Clustering and reconstruction run between "embeddings" and "discrete_diarization".
    """

    def __init__(self):
        self.steps: Dict[str, float] = {}

    @staticmethod
    def peak() -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def __call__(self, step_name: str, step_artefact=None, file=None, total=None, completed=None):
        self.steps[step_name] = self.peak()

    def close(self) -> Dict[str, float]:
        self.steps["end"] = self.peak()
        return self.steps


def speed_child(args) -> None:
    """(subprocess) load one system, diarize one file, print timings as JSON."""
    import torch

    torch.set_num_threads(args.threads)
    from pyannote_resnet50.core.io import get_duration

    start = time.perf_counter()
    if args.system == "ours":
        pipeline = load_ours(args.pipeline, args.segmentation, args.embedding)
    else:
        from pyannote.audio.models.embedding import WeSpeakerResNet34
        from pyannote.audio.pipelines import SpeakerDiarization as StockSpeakerDiarization

        from pyannote_resnet50.pipelines.utils import (
            load_model,
            random_embedding_checkpoint,
            random_segmentation_checkpoint,
        )

        directory = Path(tempfile.mkdtemp())
        segmentation = random_segmentation_checkpoint(directory / "segmentation.ckpt")
        embedding = random_embedding_checkpoint(directory / "embedding.ckpt", architecture=WeSpeakerResNet34)
        # loaded here: pyannote.audio 3.4 cannot load its own checkpoints with torch >= 2.6
        pipeline = StockSpeakerDiarization(
            segmentation=load_model(segmentation, None), embedding=load_model(embedding, None), **STOCK_PIPELINE
        ).instantiate(STOCK_PARAMS)
    loaded = time.perf_counter()
    loaded_rss = MemoryHook.peak()
    hook = MemoryHook()
    diarization = pipeline({"uri": "speed", "audio": args.audio}, hook=hook)
    done = time.perf_counter()
    print(json.dumps({
        "load_s": loaded - start, "diarization_s": done - loaded, "duration_s": get_duration(args.audio),
        "speakers": len(diarization.labels()), "loaded_rss_mb": loaded_rss, "steps_rss_mb": hook.close(),
    }))


def run_child(command: List[str], timeout: float, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
              poll: Optional[Callable[[int], None]] = None, env: Optional[Dict[str, str]] = None):
    """Run `command` in a subprocess; its output lines and resource usage

    Parameters
    ----------
    command : list of str
    timeout : float
        Seconds after which the child is killed.
    stdout : optional
        Where its standard output goes (default: captured and returned; keep it short).
    stderr : optional
        Where its standard error goes (default: discarded).
    poll : callable, optional
        Called with the child's pid twice a second while it runs (e.g. to sample memory).
    env : dict, optional
        Its environment (default: this process's).

    Returns
    -------
    output : list of str
        Lines of its standard output (empty unless captured).
    rusage : resource.struct_rusage
        Its ``os.wait4`` resource usage: CPU time and ``ru_maxrss`` (peak resident
        memory, in kB, of the largest process of its tree, not their sum).
    returncode : int
    timed_out : bool
    """
    child = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, env=env)
    # os.wait4 gives the rusage of this very child (RUSAGE_CHILDREN would be the
    # maximum over all children so far)
    deadline, timed_out = time.monotonic() + timeout, False
    while True:
        pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            pid, status, rusage = os.wait4(child.pid, 0)
            timed_out = True
            break
        if poll is not None:
            poll(child.pid)
        time.sleep(0.5)
    child.returncode = os.waitstatus_to_exitcode(status)
    output = child.stdout.read().strip().splitlines() if child.stdout is not None else []
    return output, rusage, child.returncode, timed_out


def speed_command(args, system: str, audio: Path) -> List[str]:
    """Command line of one speed measurement (``_speed`` mode of this script)"""
    command = [sys.executable, __file__, "_speed", "--system", system, "--audio", str(audio),
               "--threads", str(args.threads)]
    for option in ("pipeline", "segmentation", "embedding"):
        if getattr(args, option, None):
            command += [f"--{option}", str(getattr(args, option))]
    return command


def speed(args) -> None:
    directory = Path(args.workdir or tempfile.mkdtemp(prefix="diarization-benchmark-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nSpeed: CPU, torch {args.threads} threads, simulated recordings (4 speakers), "
          f"one subprocess per run")
    print("| system | recording | wall time (s) | real-time factor | CPU time (s) | peak RSS (MB) | speakers |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for duration in args.durations:
        audio = simulate(directory, duration)
        for system in ("ours", "stock"):
            if system == "stock" and duration > args.stock_max_duration:
                print(f"| pyannote.audio stock (random init) | {duration / 60:g} min | not run "
                      f"(> --stock-max-duration {args.stock_max_duration:g} s) | | | | |")
                continue
            command = speed_command(args, system, audio)
            label = "ours" if system == "ours" else "pyannote.audio stock (random init)"
            output, rusage, returncode, timed_out = run_child(command, args.timeout)
            if timed_out:
                print(f"| {label} | {duration / 60:g} min | > {args.timeout:g} (timeout) | "
                      f"> {args.timeout / duration:.3f} | {rusage.ru_utime + rusage.ru_stime:.1f} | | |", flush=True)
                continue
            if returncode != 0 or not output:
                print(f"| {label} | {duration / 60:g} min | failed (exit {returncode}) | | | | |")
                continue
            result = json.loads(output[-1])
            # CPU time of the whole child (imports and model loading included): robust to
            # other processes sharing the CPU, unlike wall time
            cpu = rusage.ru_utime + rusage.ru_stime
            print(f"| {label} | {duration / 60:g} min | {result['diarization_s']:.1f} | "
                  f"{result['diarization_s'] / result['duration_s']:.4f} | {cpu:.1f} | "
                  f"{rusage.ru_maxrss / 1024:.0f} | {result['speakers']} |", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", default=None, help="tuned config.yaml (default: committed checkpoints, "
                        "default hyper-parameters)")
    parser.add_argument("--segmentation", default=None, help="segmentation checkpoint (without --pipeline)")
    parser.add_argument("--embedding", default=None, help="embedding checkpoint (without --pipeline)")
    parser.add_argument("--protocols", nargs="*",
                        default=["Mini.SpeakerDiarization.Simulated", "AMI.SpeakerDiarization.Debug",
                                 "Conversations.SpeakerDiarization.CommonVoice", "Conversations.SpeakerDiarization.Long"])
    parser.add_argument("--seed-threshold", type=float, default=0.5,
                        help="cosine distance threshold of the seed baseline (default: 0.5)")
    parser.add_argument("--durations", nargs="*", type=float, default=[60.0, 600.0, 3600.0],
                        help="durations (s) of the simulated recordings of the speed benchmark")
    parser.add_argument("--stock-max-duration", type=float, default=60.0,
                        help="longest recording the stock pipeline runs on (default: 60 s; it needs about 3 s per second of audio here)")
    parser.add_argument("--timeout", type=float, default=600.0, help="time limit of one speed run (s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default=None, help="where simulated recordings are written")
    parser.add_argument("--plot", type=Path, default=None,
                        help="write the DER per file as PNGs: PLOT with the protocol's name appended (e.g. docs/der.png -> docs/der-mini.png)")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    # internal: one speed measurement in a subprocess
    parser.add_argument("mode", nargs="?", default="benchmark", choices=["benchmark", "_speed"])
    parser.add_argument("--system", choices=["ours", "stock"], default="ours")
    parser.add_argument("--audio", default=None)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.mode == "_speed":
        speed_child(args)
        return 0
    if not args.skip_accuracy:
        accuracy(args)
    if not args.skip_speed:
        speed(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

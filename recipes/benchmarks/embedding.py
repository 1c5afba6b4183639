#!/usr/bin/env python
"""Speaker embedding benchmark: verification trials between unseen speakers, and DER
with oracle segmentation and the oracle number of speakers.

    python -W ignore recipes/benchmarks/embedding.py \\
        --checkpoint shipped=pyannote_resnet50/data/checkpoints/embedding.ckpt \\
        --checkpoint wespeaker=training_runs/sweep/wespeaker-resnet34/embedding.ckpt

For every checkpoint (and a randomly initialised copy of the first one, seed 0):

* EER and minDCF (p_target 0.01, C_miss = C_fa = 1, normalised) of cosine-scored trials
  between speakers no model was trained on:
  - LibriSpeech test readers: 3 s chunks of the ReadSpeech test utterances of the 50
    Mini-test readers, all pairs;
  - speechocean762 test speakers: the ReadSpeech test utterances of the 25 held-out
    speechocean762 speakers (their speech, up to 3 s), all pairs;
  - Common Voice test speakers (volunteers on their own microphones, English and
    Persian, held out of every model: ``Voices`` test): 3 s chunks, all pairs;
  - AMI Debug (real far-field meetings, 12 excerpts): 2 s chunks of non-overlapped
    speech, pairs within each file only (what diarization has to tell apart);
* DER (pyannote.metrics, no collar, overlap scored) of the pipeline with oracle
  segmentation and the oracle number of speakers on Mini test and AMI Debug test: it
  isolates the embedding from segmentation and speaker counting. Clustering
  hyper-parameters are the pipeline defaults (the number of speakers is given).

``--score-norm`` adds, for every trial list, the EER and minDCF after adaptive symmetric
score normalisation (AS-norm, top 100 cohort scores of each side; Matejka et al.,
Interspeech 2017, as in WeSpeaker's evaluation) against a cohort of 3 s chunks of the
ReadSpeech *training* speakers: the usual back-end of speaker verification, reported
beside (never instead of) plain cosine scoring, which is what the pipeline uses.

``--plot FILE.png`` draws the DET curves of every model on every trial list.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio import Model
from pyannote.core import Segment
from pyannote.metrics.diarization import DiarizationErrorRate
from sklearn.metrics import roc_curve

from pyannote_resnet50.core.io import crop_audio
from pyannote_resnet50.database.labels import SEPARATOR
from pyannote_resnet50.database.registry import DATABASE_YML, get_protocol
from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization
from pyannote_resnet50.tasks.embedding.file_scoped import speech_turns
from pyannote_resnet50.tasks.embedding.metrics import equal_error_rate

P_TARGET = 0.01


def min_dcf(targets: np.ndarray, scores: np.ndarray, p_target: float = P_TARGET) -> float:
    """Normalised minimum detection cost (C_miss = C_fa = 1)"""
    fpr, tpr, _ = roc_curve(targets, scores)
    cost = p_target * (1.0 - tpr) + (1.0 - p_target) * fpr
    return float(np.min(cost) / min(p_target, 1.0 - p_target))


def chunks_of(protocol_name: str, subset: str, duration: float, prefix: str = "", min_duration: float = 1.0,
              database_yml=None) -> List[Tuple[dict, Segment, str, str]]:
    """(file, segment, identity, uri) of non-overlapping chunks of non-overlapped speech

    Identities are scoped as the training task scopes them (``speech_turns``): per file
    for AMI, corpus-wide for ReadSpeech. Only labels starting with `prefix` are kept.
    Turns shorter than `duration` (but at least `min_duration`) give one chunk.
    """
    protocol = get_protocol(protocol_name, database_yml=database_yml)
    chunks = []
    for file in getattr(protocol, subset)():
        for identity, timeline in speech_turns(file, exclude_overlap=True).items():
            if not identity.rsplit(SEPARATOR, 1)[-1].startswith(prefix):
                continue
            for turn in timeline:
                if turn.duration < min_duration:
                    continue
                for k in range(max(1, int(turn.duration // duration))):
                    start = turn.start + k * duration
                    chunks.append((file, Segment(start, min(start + duration, turn.end)), identity, file["uri"]))
    return chunks


def embed(model: Model, chunks, batch_size: int = 32) -> np.ndarray:
    """L2-normalised embeddings of `chunks` (zero-padded to the longest in each batch)"""
    model.eval()
    embeddings = []
    with torch.inference_mode():
        for b in range(0, len(chunks), batch_size):
            waveforms = [crop_audio(file, segment) for file, segment, *_ in chunks[b : b + batch_size]]
            length = max(len(w) for w in waveforms)
            weights = torch.zeros(len(waveforms), length)
            batch = torch.zeros(len(waveforms), 1, length)
            for i, w in enumerate(waveforms):
                batch[i, 0, : len(w)] = torch.from_numpy(w)
                weights[i, : len(w)] = 1.0
            # pool only over the real (unpadded) frames
            frames = model.forward_frames(batch)
            embeddings.append(F.normalize(model.forward_embedding(frames, weights=weights), dim=-1))
    return torch.cat(embeddings).numpy()


def trials(embeddings: np.ndarray, identities: List[str], uris: List[str], within_file: bool,
           cohort: np.ndarray = None, top_k: int = 100):
    """Targets and cosine scores of all pairs (only pairs of one file if `within_file`)

    With a `cohort` of L2-normalised embeddings, scores are AS-norm'ed: each side's
    score is standardised by the mean and standard deviation of its `top_k` highest
    cosine scores against the cohort, and the two are averaged.
    """
    i, j = np.triu_indices(len(embeddings), k=1)
    identities, uris = np.array(identities), np.array(uris)
    keep = uris[i] == uris[j] if within_file else np.ones(len(i), dtype=bool)
    i, j = i[keep], j[keep]
    scores = np.sum(embeddings[i] * embeddings[j], axis=1)
    if cohort is not None:
        top = -np.sort(-(embeddings @ cohort.T), axis=1)[:, :top_k]
        mean, std = top.mean(axis=1), top.std(axis=1)
        scores = 0.5 * ((scores - mean[i]) / std[i] + (scores - mean[j]) / std[j])
    return identities[i] == identities[j], scores


def oracle_der(checkpoint, protocol_name: str, subset: str, database_yml=None) -> float:
    """DER with oracle segmentation and oracle number of speakers"""
    pipeline = SpeakerDiarization(segmentation=ORACLE, embedding=checkpoint)
    pipeline.instantiate(pipeline.default_parameters())
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    for file in getattr(get_protocol(protocol_name, database_yml=database_yml), subset)():
        reference = file["annotation"]
        hypothesis = pipeline(file, num_speakers=len(reference.crop(file["annotated"]).labels()))
        metric(reference, hypothesis, uem=file["annotated"])
    return abs(metric)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", required=True, metavar="NAME=PATH",
                        help="slim embedding checkpoint to benchmark (repeat); the first also gives a random init")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--database", type=Path, default=DATABASE_YML, help="database.yml")
    parser.add_argument("--plot", type=Path, default=None, help="write DET curves to this PNG")
    parser.add_argument("--score-norm", action="store_true",
                        help="also report AS-norm scoring against a cohort of ReadSpeech training speakers")
    parser.add_argument("--no-der", action="store_true", help="skip the oracle-segmentation DER")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)

    models: Dict[str, Model] = {}
    for item in args.checkpoint:
        name, path = item.split("=", 1)
        models[name] = Model.from_pretrained(path)
    first_name, first = next(iter(models.items()))
    torch.manual_seed(0)
    models[f"{first_name}, random init"] = type(first)(**first.hparams)

    trial_lists = {
        "LibriSpeech test (3 s)": (chunks_of("ReadSpeech.SpeakerDiarization.Speakers", "test", 3.0, "LS", database_yml=args.database), False),
        "speechocean762 test": (chunks_of("ReadSpeech.SpeakerDiarization.Speakers", "test", 3.0, "SO", database_yml=args.database), False),
        "Common Voice test (3 s)": (chunks_of("Voices.SpeakerDiarization.Speakers", "test", 3.0, "CV", database_yml=args.database), False),
        "AMI Debug within-file (2 s)": (chunks_of("AMI.SpeakerDiarization.Debug", "test", 2.0, database_yml=args.database), True),
    }
    for name, (chunks, _) in trial_lists.items():
        print(f"{name}: {len(chunks)} chunks of {len({c[2] for c in chunks})} speakers")
    print()

    cohort_chunks = []
    if args.score_norm:
        cohort_chunks = chunks_of("ReadSpeech.SpeakerDiarization.Speakers", "train", 3.0, database_yml=args.database)
        print(f"AS-norm cohort: {len(cohort_chunks)} chunks of {len({c[2] for c in cohort_chunks})} training speakers\n")

    curves = {}
    header = f"{'model':<34} {'params':>7}" + "".join(f" | {n[:24]:>24} EER  minDCF" for n in trial_lists)
    print(header)
    for name, model in models.items():
        num_params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("loss_func"))
        cohort = embed(model, cohort_chunks) if args.score_norm else None
        # each trial list is embedded once, then scored with and without AS-norm
        embeddings = {list_name: embed(model, chunks) for list_name, (chunks, _) in trial_lists.items()}
        for norm in [None, cohort] if args.score_norm else [None]:
            label = name if norm is None else f"{name} + AS-norm"
            row = f"{label:<34} {num_params / 1e6:>6.1f}M"
            for list_name, (chunks, within_file) in trial_lists.items():
                targets, scores = trials(embeddings[list_name], [c[2] for c in chunks], [c[3] for c in chunks],
                                         within_file, cohort=norm)
                eer, dcf = equal_error_rate(targets, scores), min_dcf(targets, scores)
                if norm is None:
                    curves[name, list_name] = roc_curve(targets, scores)[:2]
                row += f" | {'':>24} {100 * eer:>4.1f}%  {dcf:.3f}"
            print(row, flush=True)

    if not args.no_der:
        print()
        print(f"{'DER, oracle segmentation + oracle #speakers':<44} {'Mini test':>10} {'AMI Debug':>10} {'seconds':>8}")
        for name, model in models.items():
            start = time.perf_counter()
            mini = oracle_der(model, "Mini.SpeakerDiarization.Simulated", "test", args.database)
            ami = oracle_der(model, "AMI.SpeakerDiarization.Debug", "test", args.database)
            print(f"{name:<44} {100 * mini:>9.2f}% {100 * ami:>9.2f}% {time.perf_counter() - start:>8.0f}", flush=True)

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from scipy.stats import norm

        fig, axes = plt.subplots(1, len(trial_lists), figsize=(5 * len(trial_lists), 4.5))
        ticks = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8])
        for ax, list_name in zip(axes, trial_lists):
            for name in models:
                fpr, tpr = curves[name, list_name]
                fnr = 1.0 - tpr
                ok = (fpr > 0) & (fnr > 0)
                ax.plot(norm.ppf(fpr[ok]), norm.ppf(fnr[ok]), label=name)
            ax.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
            ax.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
            ax.set(xlim=norm.ppf([0.005, 0.9]), ylim=norm.ppf([0.005, 0.9]), title=list_name,
                   xlabel="false alarm rate (%)", ylabel="miss rate (%)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=100)
        print(f"\nDET curves: {args.plot}")


if __name__ == "__main__":
    main()

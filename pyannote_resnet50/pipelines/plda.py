"""LDA + two-covariance PLDA of speaker embeddings, for VBx clustering

:func:`train_plda` learns, from embeddings of labelled training speakers, the x-vector
transform of the VBx recipe (Landini et al., CSL 2022; BUT's ``xvec_transform``):

1. centring (``mean1``) and length normalisation (to ``sqrt(lda_dim)``);
2. LDA (``lda``): the `lda_dim` leading generalised eigenvectors of the between- and
   within-speaker scatter matrices (within-speaker covariance whitened);
3. centring (``mean2``) and length normalisation again;
4. two-covariance PLDA (``mu``, ``tr``, ``phi``), trained by EM: a speaker is
   ``y ~ N(mu, B)``, an embedding of that speaker ``x ~ N(y, W)``; ``tr``
   diagonalises both (``tr W tr' = I``, ``tr B tr' = diag(phi)``, ``phi`` descending).

:meth:`PLDA.transform` chains the four steps: its output is the space where VBx
(:mod:`pyannote_resnet50.pipelines.vbx`) models speakers, ``phi`` its across-speaker
variances. :meth:`PLDA.save` writes plain arrays (``numpy.load(..., allow_pickle=False)``
reads them).

Command line: extract embeddings of many 2-4 s chunks of the training speakers of a
protocol with an embedding checkpoint, and write the PLDA file::

    python -m pyannote_resnet50.pipelines.plda Voices.SpeakerDiarization.Speakers \\
        pyannote_resnet50/data/checkpoints/plda-voices.npz \\
        --embedding pyannote_resnet50/data/checkpoints/embedding-voices.ckpt
"""

from __future__ import annotations

import argparse
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple, Union

import numpy as np
from scipy.linalg import eigh

from pyannote_resnet50.pipelines.utils import CHECKPOINTS_DIR, config_dir

__all__ = ["PLDA", "train_plda", "load_plda", "extract_embeddings", "DEFAULT_PLDA", "TRAIN_COMMAND"]

#: PLDA of the shipped embedding (embedding-voices.ckpt), read by VBx clustering by default
DEFAULT_PLDA = CHECKPOINTS_DIR / "plda-voices.npz"
#: command that writes DEFAULT_PLDA (from the root of the checkout)
TRAIN_COMMAND = "bash recipes/plda/train.sh"

#: arrays of a PLDA file, in transform order
ARRAYS = ("mean1", "lda", "mean2", "mu", "tr", "phi")


def l2_norm(x: np.ndarray) -> np.ndarray:
    """Rows of `x` scaled to unit Euclidean norm"""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def model_fingerprint(model) -> str:
    """SHA-1 of a model's weights (identifies the embedding model a PLDA was trained with,
    whatever the checkpoint file that holds them)

    Parameters
    ----------
    model : torch.nn.Module
        Before any inference-only rewriting (e.g. batch normalisation folding).
    """
    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass
class PLDA:
    """Embedding transform and PLDA model of VBx

    Attributes
    ----------
    mean1 : (dimension, ) np.ndarray
        Mean of the training embeddings.
    lda : (dimension, lda_dim) np.ndarray
        LDA projection (within-speaker covariance whitened).
    mean2 : (lda_dim, ) np.ndarray
        Mean of the length-normalised, LDA-projected training embeddings.
    mu : (lda_dim, ) np.ndarray
        PLDA mean.
    tr : (lda_dim, lda_dim) np.ndarray
        PLDA transform: rows are the generalised eigenvectors of (B, W), so that
        ``tr @ W @ tr.T = I`` and ``tr @ B @ tr.T = diag(phi)``.
    phi : (lda_dim, ) np.ndarray
        Across-speaker variances in PLDA space (descending).
    info : dict
        Training metadata (str, int or float values): protocol, number of speakers,
        embedding checkpoint name and weights fingerprint (:func:`model_fingerprint`)...
    """

    mean1: np.ndarray
    lda: np.ndarray
    mean2: np.ndarray
    mu: np.ndarray
    tr: np.ndarray
    phi: np.ndarray
    info: Dict[str, Any] = field(default_factory=dict)

    @property
    def dimension(self) -> int:
        """Dimension of the input embeddings"""
        return self.mean1.shape[0]

    @property
    def lda_dim(self) -> int:
        """Dimension of the PLDA space"""
        return self.lda.shape[1]

    def xvec_transform(self, embeddings: np.ndarray) -> np.ndarray:
        """Centre, length-normalise, LDA-project, centre and length-normalise again"""
        scale = np.sqrt(self.lda_dim)
        x = scale * l2_norm(np.asarray(embeddings, dtype=np.float64) - self.mean1)
        return scale * l2_norm(x @ self.lda - self.mean2)

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        """Embeddings in PLDA space (within-speaker covariance I, across-speaker ``diag(phi)``)

        Parameters
        ----------
        embeddings : (num_embeddings, dimension) np.ndarray

        Returns
        -------
        features : (num_embeddings, lda_dim) np.ndarray
        """
        return (self.xvec_transform(embeddings) - self.mu) @ self.tr.T

    __call__ = transform

    def save(self, path: Union[Text, Path]) -> Path:
        """Write the model as plain arrays in an npz file (loads without pickle)"""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: getattr(self, name) for name in ARRAYS}
        metadata = {f"info_{key}": np.asarray(value) for key, value in self.info.items()}
        with open(path, "wb") as f:  # np.savez would append ".npz" to other suffixes
            np.savez(f, **arrays, **metadata)
        return path

    @classmethod
    def load(cls, path: Union[Text, Path]) -> "PLDA":
        """Read a model written by :meth:`save`"""
        with np.load(path, allow_pickle=False) as npz:
            missing = [name for name in ARRAYS if name not in npz.files]
            if missing:
                raise ValueError(f"'{path}' is not a PLDA file: no {', '.join(missing)} array.")
            arrays = {name: npz[name] for name in ARRAYS}
            info = {key[5:]: npz[key].item() for key in npz.files if key.startswith("info_")}
        return cls(**arrays, info=info)


def _scatter(x: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Within- and between-speaker covariances of `x` (each embedding weighs the same)"""
    counts = np.bincount(labels)
    means = np.zeros((len(counts), x.shape[1]))
    np.add.at(means, labels, x)
    means /= counts[:, None]
    within = x - means[labels]
    between = means - x.mean(axis=0)
    return within.T @ within / len(x), (between.T * counts) @ between / len(x)


def _regularise(covariance: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Symmetric, positive definite version of `covariance`: eigenvalues floored at
    `floor` times their mean (rank-deficient scatter of few embeddings, rounding)"""
    values, vectors = eigh(0.5 * (covariance + covariance.T))
    values = np.maximum(values, floor * max(values.mean(), 1e-12))
    return (vectors * values) @ vectors.T


def two_covariance_plda(
    x: np.ndarray, labels: np.ndarray, num_iterations: int = 10
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood two-covariance PLDA, by EM

    Speaker ``y ~ N(mu, B)``; embedding of that speaker ``x ~ N(y, W)`` (S. Ioffe,
    ECCV 2006; EM as in A. Sizov et al., "Unifying probabilistic linear discriminant
    analysis variants in biometric authentication", S+SSPR 2014). Starts from the
    moment estimates (``W`` pooled within-speaker covariance, ``B`` covariance of the
    speaker means); each E-step runs in the basis that diagonalises ``(B, W)``.

    Parameters
    ----------
    x : (num_embeddings, dimension) np.ndarray
    labels : (num_embeddings, ) np.ndarray
        0-indexed speaker of each embedding.
    num_iterations : int, optional
        EM iterations. Defaults to 10 (0: moment estimates).

    Returns
    -------
    mu : (dimension, ) np.ndarray
    B, W : (dimension, dimension) np.ndarray
        Across- and within-speaker covariances.
    """
    counts = np.bincount(labels).astype(np.float64)
    num_speakers, num_embeddings = len(counts), len(x)
    sums = np.zeros((num_speakers, x.shape[1]))
    np.add.at(sums, labels, x)
    means = sums / counts[:, None]
    W = _regularise((x - means[labels]).T @ (x - means[labels]) / num_embeddings)
    mu = means.mean(axis=0)
    B = _regularise((means - mu).T @ (means - mu) / num_speakers)
    second_moment = x.T @ x
    for _ in range(num_iterations):
        # E-step: posterior of each speaker variable, in the basis where W = I, B = diag(phi)
        phi, V = eigh(B, W)
        phi = np.maximum(phi, 1e-12)
        variance = phi / (1.0 + counts[:, None] * phi)  # (num_speakers, dimension)
        mean = counts[:, None] * variance * ((means - mu) @ V)
        A = np.linalg.inv(V.T)  # back to the original coordinates
        y = mu + mean @ A.T
        # M-step
        mu = y.mean(axis=0)
        B = (A * variance.sum(axis=0)) @ A.T + y.T @ y
        B = _regularise(B / num_speakers - np.outer(mu, mu))
        cross = sums.T @ y
        W = second_moment - cross - cross.T + (A * (counts @ variance)) @ A.T + (y.T * counts) @ y
        W = _regularise(W / num_embeddings)
    return mu, B, W


def train_plda(
    embeddings: np.ndarray,
    labels: Sequence,
    lda_dim: int = 128,
    num_iterations: int = 10,
    info: Optional[Dict[str, Any]] = None,
) -> PLDA:
    """Train the LDA + PLDA of VBx on embeddings of labelled speakers

    Parameters
    ----------
    embeddings : (num_embeddings, dimension) np.ndarray
        Embeddings of training speakers (several per speaker; NaN rows are dropped).
    labels : (num_embeddings, ) sequence
        Speaker identity of each embedding (any hashable values). Speakers with a
        single embedding are dropped (they carry no within-speaker information).
    lda_dim : int, optional
        Dimension of the LDA (and PLDA) space, at most ``dimension`` and the number of
        speakers minus one (reduced to fit, with a warning). Defaults to 128.
    num_iterations : int, optional
        EM iterations of the two-covariance PLDA. Defaults to 10.
    info : dict, optional
        Metadata saved with the model (str, int or float values).

    Returns
    -------
    plda : PLDA
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError("embeddings must be (num_embeddings, dimension) with one label per embedding.")
    valid = ~np.any(np.isnan(embeddings), axis=1)
    embeddings, labels = embeddings[valid], labels[valid]
    _, labels, counts = np.unique(labels, return_inverse=True, return_counts=True)
    keep = counts[labels] >= 2
    embeddings, labels = embeddings[keep], np.unique(labels[keep], return_inverse=True)[1]
    num_speakers = 0 if len(labels) == 0 else labels.max() + 1
    if num_speakers < 2:
        raise ValueError("PLDA training needs at least 2 speakers with at least 2 embeddings each.")
    dimension = embeddings.shape[1]
    if lda_dim > min(dimension, num_speakers - 1):
        warnings.warn(
            f"lda_dim={lda_dim} reduced to {min(dimension, num_speakers - 1)} "
            f"({num_speakers} speakers, {dimension}-dimensional embeddings)."
        )
        lda_dim = min(dimension, num_speakers - 1)

    scale = np.sqrt(lda_dim)
    mean1 = embeddings.mean(axis=0)
    x = scale * l2_norm(embeddings - mean1)
    within, between = _scatter(x, labels)
    # generalised eigenvectors (ascending): lda.T @ within @ lda = I
    _, vectors = eigh(_regularise(between), _regularise(within))
    lda = vectors[:, ::-1][:, :lda_dim]
    x = x @ lda
    mean2 = x.mean(axis=0)
    x = scale * l2_norm(x - mean2)

    mu, B, W = two_covariance_plda(x, labels, num_iterations=num_iterations)
    phi, vectors = eigh(B, W)
    order = np.argsort(-phi)
    info = {"num_speakers": int(num_speakers), "num_embeddings": int(len(labels)), **(info or {})}
    return PLDA(mean1=mean1, lda=lda, mean2=mean2, mu=mu, tr=vectors[:, order].T, phi=phi[order], info=info)


def load_plda(plda: Union[PLDA, Text, Path, None] = None) -> PLDA:
    """Load the PLDA of VBx clustering

    Parameters
    ----------
    plda : PLDA, str or Path, optional
        `PLDA` instance (returned as is), or npz path: absolute, relative to the
        config.yaml being loaded by ``Pipeline.from_pretrained``, or relative to the
        working directory. Defaults to :data:`DEFAULT_PLDA`.

    Returns
    -------
    plda : PLDA

    Raises
    ------
    FileNotFoundError
        When the file does not exist; the message says how to create it.
    """
    if isinstance(plda, PLDA):
        return plda
    path = Path(DEFAULT_PLDA if plda is None else plda).expanduser()
    base = config_dir()
    if not path.is_absolute() and base is not None and (base / path).is_file():
        path = base / path
    if not path.is_file():
        how = (
            f"Create this default one (for the shipped embedding) with `{TRAIN_COMMAND}` from the "
            "root of the checkout, or train"
            if plda is None
            else "Train"
        )
        raise FileNotFoundError(
            f"PLDA file '{path}' does not exist: VBx clustering needs a PLDA trained on embeddings of the "
            f"pipeline's embedding model. {how} one with `python -m pyannote_resnet50.pipelines.plda PROTOCOL "
            "OUTPUT.npz --embedding CHECKPOINT` (e.g. PROTOCOL = ReadSpeech.SpeakerDiarization.Speakers) and "
            "pass SpeakerDiarization(clustering='VBxClustering', plda='OUTPUT.npz')."
        )
    return PLDA.load(path)


# ~~~~ training data: embeddings of training speakers ~~~~


def speaker_chunks(
    files: Iterable,
    min_duration: float = 2.0,
    max_duration: float = 4.0,
    rng: Optional[np.random.Generator] = None,
) -> Dict[str, List[Tuple[Any, Any]]]:
    """Non-overlapping chunks of each identity's non-overlapped speech

    Parameters
    ----------
    files : iterable of ProtocolFile
        With "annotation" (identities scoped by the protocol, see
        :func:`pyannote_resnet50.tasks.embedding.file_scoped.speech_turns`).
    min_duration, max_duration : float, optional
        Chunk durations are drawn uniformly in [min_duration, max_duration] seconds;
        a turn's remainder shorter than `min_duration` is dropped.
    rng : np.random.Generator, optional

    Returns
    -------
    chunks : dict
        {identity: [(file, Segment), ...]}, in order of appearance.
    """
    from pyannote.core import Segment

    from pyannote_resnet50.tasks.embedding.file_scoped import speech_turns

    rng = rng or np.random.default_rng(0)
    chunks: Dict[str, List] = {}
    for file in files:
        for identity, timeline in speech_turns(file, exclude_overlap=True).items():
            for turn in timeline:
                start = turn.start
                while turn.end - start >= min_duration:
                    end = min(turn.end, start + rng.uniform(min_duration, max_duration))
                    chunks.setdefault(identity, []).append((file, Segment(start, end)))
                    start = end
    return chunks


def extract_embeddings(
    protocol,
    embedding=None,
    subsets: Sequence[Text] = ("train",),
    min_duration: float = 2.0,
    max_duration: float = 4.0,
    max_chunks_per_speaker: Optional[int] = 20,
    max_speakers_per_subset: Optional[int] = None,
    max_chunks: Optional[int] = None,
    batch_size: int = 32,
    device: Optional[Text] = None,
    seed: int = 0,
    show_progress: bool = True,
) -> Tuple[np.ndarray, List[str]]:
    """Embeddings of 2-4 s chunks of the training speakers of a protocol

    Parameters
    ----------
    protocol : pyannote.database SpeakerDiarization protocol
        Identities come from ``file["annotation"]`` labels, scoped by the protocol
        (``uri@label`` with ``scope: file``).
    embedding : Model, str, Path or dict, optional
        Embedding model (as in :class:`SpeakerDiarization`). Defaults to the shipped one.
    subsets : sequence of str, optional
        Defaults to ("train", ).
    min_duration, max_duration : float, optional
        Chunk duration range, in seconds. Defaults to [2, 4].
    max_chunks_per_speaker : int, optional
        Random subset of each speaker's chunks (balances talkative speakers).
        Defaults to 20. None: all.
    max_speakers_per_subset : int, optional
        Random subset of the speakers of each subset (quick runs). Defaults to all.
    max_chunks : int, optional
        Stop after that many chunks (quick runs). Defaults to all.
    batch_size : int, optional
        Chunks per forward pass (sorted by duration, zero-padded, padding masked out
        of the statistics pooling). Defaults to 32.
    device : str, optional
        torch device. Defaults to CPU.
    seed : int, optional
    show_progress : bool, optional

    Returns
    -------
    embeddings : (num_chunks, dimension) np.ndarray
    labels : list of str
        Identity of each chunk. Speakers with fewer than 2 chunks are left out.
    """
    import torch
    from tqdm.auto import tqdm

    from pyannote_resnet50.core.io import crop_audio
    from pyannote_resnet50.pipelines.utils import DEFAULT_EMBEDDING, fuse_batch_norm, load_model

    rng = np.random.default_rng(seed)
    selected: List[Tuple[Any, Any, str]] = []
    for subset in subsets:
        chunks = speaker_chunks(getattr(protocol, subset)(), min_duration, max_duration, rng=rng)
        identities = sorted(identity for identity, turns in chunks.items() if len(turns) >= 2)
        if max_speakers_per_subset is not None and len(identities) > max_speakers_per_subset:
            identities = sorted(rng.choice(identities, size=max_speakers_per_subset, replace=False))
        for identity in identities:
            turns = chunks[identity]
            if max_chunks_per_speaker is not None and len(turns) > max_chunks_per_speaker:
                turns = [turns[i] for i in sorted(rng.choice(len(turns), max_chunks_per_speaker, replace=False))]
            selected.extend((file, segment, identity) for file, segment in turns)
    if max_chunks is not None:
        selected = selected[:max_chunks]
    identities, counts = np.unique([identity for *_, identity in selected], return_counts=True)
    single = set(identities[counts < 2])
    selected = [chunk for chunk in selected if chunk[2] not in single]
    if not selected:
        raise ValueError(f"no speaker of {protocol.name} ({', '.join(subsets)}) has 2 chunks of speech.")

    model = fuse_batch_norm(load_model(embedding, DEFAULT_EMBEDDING))
    if device is not None:
        model = model.to(torch.device(device))
    sample_rate = model.hparams.sample_rate
    order = np.argsort([segment.duration for _, segment, _ in selected], kind="stable")
    embeddings = np.zeros((len(selected), model.dimension), dtype=np.float32)
    for first in tqdm(range(0, len(order), batch_size), desc="embeddings", unit="batch", disable=not show_progress):
        batch = order[first : first + batch_size]
        waveforms = [crop_audio(selected[i][0], selected[i][1], sample_rate=sample_rate) for i in batch]
        num_samples = max(len(w) for w in waveforms)
        padded = np.zeros((len(batch), 1, num_samples), dtype=np.float32)
        # pooling weights at 100 frames per second: 1 on the chunk, 0 on the padding
        weights = np.zeros((len(batch), int(np.ceil(100 * num_samples / sample_rate))), dtype=np.float32)
        for b, waveform in enumerate(waveforms):
            padded[b, 0, : len(waveform)] = waveform
            weights[b, : int(np.floor(100 * len(waveform) / sample_rate))] = 1.0
        with torch.inference_mode():
            output = model(torch.from_numpy(padded).to(model.device), weights=torch.from_numpy(weights).to(model.device))
        embeddings[batch] = output.float().cpu().numpy()
    return embeddings, [identity for *_, identity in selected]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.pipelines.plda",
        description="Extract embeddings of 2-4 s chunks of the training speakers of a protocol with an "
        "embedding checkpoint, train the LDA + two-covariance PLDA of VBx clustering on them, and write it "
        "(npz, plain arrays). Use it with SpeakerDiarization(clustering='VBxClustering', plda=OUTPUT).",
    )
    parser.add_argument("protocol", help="e.g. ReadSpeech.SpeakerDiarization.Speakers")
    parser.add_argument("output", help="PLDA file to write (.npz)")
    parser.add_argument("--embedding", default=None, help="embedding checkpoint (default: the shipped one)")
    parser.add_argument("--database", default=None, help="database.yml (default: $PYANNOTE_DATABASE_CONFIG or the checkout's)")
    parser.add_argument("--subset", action="append", default=None, help="subset(s) of training speakers (default: train)")
    parser.add_argument("--lda-dim", type=int, default=128, help="dimension of the LDA / PLDA space (default: 128)")
    parser.add_argument("--min-duration", type=float, default=2.0, help="shortest chunk, in seconds (default: 2)")
    parser.add_argument("--max-duration", type=float, default=4.0, help="longest chunk, in seconds (default: 4)")
    parser.add_argument("--max-chunks-per-speaker", type=int, default=20, help="(default: 20; 0: all)")
    parser.add_argument("--max-speakers-per-subset", type=int, default=None, help="random subset of speakers (quick runs)")
    parser.add_argument("--max-chunks", type=int, default=None, help="stop after that many chunks (quick runs)")
    parser.add_argument("--save-embeddings", default=None, help="also write the embeddings and labels (.npz)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from pyannote_resnet50.database import get_protocol
    from pyannote_resnet50.pipelines.utils import DEFAULT_EMBEDDING, load_model, resolve_checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    subsets = args.subset or ["train"]
    protocol = get_protocol(args.protocol, database_yml=args.database)
    checkpoint = resolve_checkpoint(args.embedding, DEFAULT_EMBEDDING)
    model = load_model(checkpoint, DEFAULT_EMBEDDING)
    embeddings, labels = extract_embeddings(
        protocol,
        embedding=model,
        subsets=subsets,
        min_duration=args.min_duration,
        max_duration=args.max_duration,
        max_chunks_per_speaker=args.max_chunks_per_speaker or None,
        max_speakers_per_subset=args.max_speakers_per_subset,
        max_chunks=args.max_chunks,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
    )
    if args.save_embeddings:
        with open(args.save_embeddings, "wb") as f:
            np.savez(f, embeddings=embeddings, labels=np.asarray(labels))
    info = {
        "protocol": args.protocol,
        "subsets": ",".join(subsets),
        "embedding": checkpoint.name,
        "embedding_fingerprint": model_fingerprint(model),
    }
    plda = train_plda(embeddings, labels, lda_dim=args.lda_dim, info=info)
    path = plda.save(args.output)
    print(
        f"PLDA ({plda.dimension} -> {plda.lda_dim} dimensions) trained on {plda.info['num_embeddings']} chunks of "
        f"{plda.info['num_speakers']} speakers of {args.protocol} ({', '.join(subsets)}): {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

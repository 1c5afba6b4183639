"""Clustering methods of the speaker diarization pipeline, side by side.

* ``AgglomerativeClustering``: pyannote.audio's (threshold, linkage method, minimum
  cluster size as hyper-parameters), re-exported;
* :class:`SpectralClustering`: spectral clustering whose affinity pruning and number
  of speakers are estimated from the eigengap of the graph Laplacian (NME-SC,
  T. J. Park et al., "Auto-Tuning Spectral Clustering for Speaker Diarization Using
  Normalized Maximum Eigengap", IEEE Signal Processing Letters 2020): no threshold to
  tune.

Both follow pyannote.audio's ``BaseClustering`` contract (``cluster(embeddings,
min_clusters, max_clusters, num_clusters)``), so that ``num_speakers``,
``min_speakers`` and ``max_speakers`` are honoured the same way.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from pyannote.audio.pipelines.clustering import AgglomerativeClustering, BaseClustering
from scipy.linalg import eigh
from sklearn.cluster import KMeans

__all__ = ["AgglomerativeClustering", "SpectralClustering", "CLUSTERING_METHODS"]


def cosine_affinity(embeddings: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of embeddings, in [-1, 1], diagonal 1"""
    normalized = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-12)
    return np.clip(normalized @ normalized.T, -1.0, 1.0)


def prune_affinity(affinity: np.ndarray, num_neighbours: int) -> np.ndarray:
    """Keep the `num_neighbours` largest similarities of each row (binarised), symmetrised"""
    n = len(affinity)
    order = np.argsort(-affinity, axis=1)[:, :num_neighbours]
    pruned = np.zeros_like(affinity)
    pruned[np.repeat(np.arange(n), num_neighbours), order.ravel()] = 1.0
    return 0.5 * (pruned + pruned.T)


def laplacian(affinity: np.ndarray) -> np.ndarray:
    """Unnormalised graph Laplacian D - A (self-loops removed)"""
    affinity = affinity.copy()
    np.fill_diagonal(affinity, 0.0)
    return np.diag(affinity.sum(axis=1)) - affinity


def eigengap_count(eigenvalues: np.ndarray, min_clusters: int, max_clusters: int) -> Tuple[int, float]:
    """Number of clusters at the largest gap of the ascending `eigenvalues`, and that gap

    The k-th gap is ``eigenvalues[k] - eigenvalues[k - 1]`` (k clusters), for k in
    [min_clusters, max_clusters].
    """
    gaps = np.diff(eigenvalues[: max_clusters + 1])
    candidates = np.arange(1, len(gaps) + 1)
    valid = candidates >= min_clusters
    if not valid.any():
        return min_clusters, 0.0
    k = int(candidates[valid][np.argmax(gaps[valid])])
    return k, float(gaps[k - 1])


class SpectralClustering(BaseClustering):
    """Spectral clustering with an auto-tuned (NME) affinity pruning and eigengap count

    For each candidate number of neighbours p kept per row of the cosine affinity
    matrix, the binarised, symmetrised affinity gives a Laplacian whose largest
    eigengap g_p (among the first `max_clusters` eigenvalues) measures how clear the
    cluster structure is; p / g_p (normalised maximum eigengap) picks the pruning. The
    number of speakers is then the position of the largest eigengap (unless given), and
    k-means on the first eigenvectors gives the clusters.

    Parameters
    ----------
    metric : {"cosine"}, optional
        Only cosine similarity is supported.
    max_num_embeddings : int, optional
        Embeddings beyond this number are subsampled for clustering, then assigned
        to the nearest centroid. Defaults to 1000.
    max_prune_ratio : float, optional
        Largest share of neighbours kept per row. Defaults to 0.25.
    num_prune_candidates : int, optional
        Number of candidate numbers of neighbours (log-spaced). Defaults to 20.
    max_speakers : int, optional
        Upper bound of the estimated number of speakers when none is given.
        Defaults to 20 (VoxConverse's largest files have 20 and 21 speakers).
    seed : int, optional
        Seed of k-means.
    """

    def __init__(
        self,
        metric: str = "cosine",
        max_num_embeddings: int = 1000,
        max_prune_ratio: float = 0.25,
        num_prune_candidates: int = 20,
        max_speakers: int = 20,
        seed: int = 0,
    ):
        if metric != "cosine":
            raise ValueError(f"SpectralClustering only supports the cosine metric, not '{metric}'.")
        super().__init__(metric=metric, max_num_embeddings=max_num_embeddings)
        self.max_prune_ratio = max_prune_ratio
        self.num_prune_candidates = num_prune_candidates
        self.max_speakers = max_speakers
        self.seed = seed

    def estimate(
        self, embeddings: np.ndarray, min_clusters: int, max_clusters: int, num_clusters: Optional[int] = None
    ) -> Tuple[int, int, np.ndarray]:
        """NME-SC: (number of neighbours kept, number of clusters, spectral embeddings)"""
        n = len(embeddings)
        affinity = cosine_affinity(embeddings)
        if num_clusters is None:
            max_clusters = min(max_clusters, self.max_speakers)
        max_clusters = min(max_clusters, n - 1)
        min_clusters = min(min_clusters, max_clusters)
        largest = max(2, int(self.max_prune_ratio * n))
        candidates = np.unique(np.geomspace(2, largest, num=self.num_prune_candidates).astype(int))
        best = None
        for p in candidates:
            graph = laplacian(prune_affinity(affinity, p))
            eigenvalues = eigh(graph, eigvals_only=True, subset_by_index=[0, max_clusters])
            k, gap = eigengap_count(eigenvalues, min_clusters, max_clusters)
            ratio = p / max(gap, 1e-10)
            if best is None or ratio < best[0]:
                best = (ratio, p, k, graph)
        _, p, k, graph = best
        if num_clusters is not None:
            k = num_clusters
        _, vectors = eigh(graph, subset_by_index=[0, k - 1])
        return int(p), int(k), vectors

    def cluster(
        self,
        embeddings: np.ndarray,
        min_clusters: int,
        max_clusters: int,
        num_clusters: Optional[int] = None,
    ) -> np.ndarray:
        """Cluster `embeddings` (num_embeddings, dimension) into labels (num_embeddings, )"""
        n = len(embeddings)
        if n < 3:
            return np.arange(n) if num_clusters in (None, n) else np.zeros(n, dtype=int)
        _, k, vectors = self.estimate(embeddings, min_clusters, max_clusters, num_clusters)
        if k < 2:
            return np.zeros(n, dtype=int)
        return KMeans(n_clusters=k, n_init=10, random_state=self.seed).fit_predict(vectors)


#: clustering methods of the pipeline, by name
CLUSTERING_METHODS = {
    "AgglomerativeClustering": AgglomerativeClustering,
    "SpectralClustering": SpectralClustering,
}

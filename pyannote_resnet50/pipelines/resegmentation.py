"""Resegmentation by windows: after clustering, each window of a local speaker goes to its nearest speaker.

The failure addressed is that of :mod:`pyannote_resnet50.pipelines.local_speakers`: a
local speaker of the segmentation model that holds two voices (a turn change it missed)
gets one embedding mixing them; it goes to one cluster as a whole, and the other voice's
speech in that chunk is attributed to the wrong speaker.

:mod:`~pyannote_resnet50.pipelines.uniform_windows` answers it by clustering window parts
of every local speaker: four times as many embeddings, each from at most 2.5 s of speech,
which changes what the clustering counts (it merged speakers of long recordings). This
module keeps the clustering as it is, on the whole local speakers, and only revisits
*who* speaks in each window afterwards, as a resegmentation does (VBx re-assigns x-vectors
of 1.5 s windows to the speakers found, with an HMM; here a hard decision per window):

1. the clustering runs on the embeddings of the whole local speakers (same speakers, same
   count, same centroids as without the check);
2. every (chunk, local speaker) activity is cut by the uniform windows of the chunk
   (:func:`~pyannote_resnet50.pipelines.uniform_windows.window_local_speakers`), each part
   embedded in the same pass of the embedding trunk;
3. :func:`reassign_windows`: a part with at least ``min_duration`` seconds of speech goes
   to the centroid most similar to its embedding, its local speaker's cluster getting a
   bonus ``margin`` (a similarity, ``2 - distance`` as pyannote's soft clusters): a window
   leaves its local speaker's cluster only when another speaker is clearly closer. Shorter
   parts, and parts of local speakers the clustering left out, keep the cluster of their
   local speaker.

A large ``margin`` gives the pipeline without the check; ``margin = 0`` trusts every
window. Reconstruction then works on the window parts as on local speakers (the parts of
one local speaker never overlap, so the speaker count is unchanged).
"""

import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["reassign_windows"]


def reassign_windows(
    hard_clusters: np.ndarray,
    centroids: np.ndarray,
    window_embeddings: np.ndarray,
    durations: np.ndarray,
    margin: float,
    min_duration: float,
    metric: str = "cosine",
) -> np.ndarray:
    """Cluster of each window part of each local speaker

    Parameters
    ----------
    hard_clusters : (num_chunks, local_num_speakers) np.ndarray
        Cluster of each local speaker (negative: none, e.g. -2 for an inactive speaker).
    centroids : (num_clusters, dimension) np.ndarray
        Centroid of each cluster (row ``k`` for cluster ``k``).
    window_embeddings : (num_chunks, num_windows * local_num_speakers, dimension) np.ndarray
        Embedding of each window part, slot ``w * local_num_speakers + k`` for window ``w``
        of local speaker ``k`` (NaN: none), as laid out by
        :func:`~pyannote_resnet50.pipelines.uniform_windows.window_local_speakers`.
    durations : (num_chunks, num_windows * local_num_speakers) np.ndarray
        Seconds of speech of each window part (same slots).
    margin : float
        Similarity bonus of the local speaker's own cluster (non-negative).
    min_duration : float
        Parts with less speech keep their local speaker's cluster.
    metric : str, optional
        Distance between embeddings and centroids (scipy's ``cdist``), as the clustering's.
        Defaults to "cosine".

    Returns
    -------
    hard_clusters : (num_chunks, num_windows * local_num_speakers) np.ndarray
        Slot ``w * local_num_speakers + k``: the cluster of window ``w`` of local speaker
        ``k``; that of local speaker ``k`` where the part is not re-assigned.
    """
    hard_clusters = np.asarray(hard_clusters)
    num_chunks, local_num_speakers = hard_clusters.shape
    if window_embeddings.ndim != 3 or window_embeddings.shape[0] != num_chunks or (
            window_embeddings.shape[1] % local_num_speakers):
        raise ValueError(f"window_embeddings of shape {window_embeddings.shape}: expected ({num_chunks}, "
                         f"num_windows * {local_num_speakers}, dimension).")
    if durations.shape != window_embeddings.shape[:2]:
        raise ValueError(f"durations of shape {durations.shape}: expected {window_embeddings.shape[:2]}.")
    if not margin >= 0.0:
        raise ValueError(f"margin must be non-negative, not {margin!r}.")
    num_windows = window_embeddings.shape[1] // local_num_speakers
    inherited = np.tile(hard_clusters, (1, num_windows))  # slot w * L + k: cluster of speaker k
    num_clusters = centroids.shape[0]
    if num_clusters < 2:
        return inherited

    flat = window_embeddings.reshape(-1, window_embeddings.shape[2])
    own = inherited.reshape(-1)
    candidates = np.flatnonzero(
        np.all(np.isfinite(flat), axis=1) & (own >= 0) & (own < num_clusters) & (durations.reshape(-1) >= min_duration)
    )
    if len(candidates) == 0:
        return inherited
    similarity = 2.0 - cdist(flat[candidates], centroids, metric=metric)
    similarity[np.arange(len(candidates)), own[candidates]] += margin
    reassigned = own.copy()
    # a NaN similarity (a zero centroid) never wins
    reassigned[candidates] = np.argmax(np.nan_to_num(similarity, nan=-np.inf), axis=1)
    return reassigned.reshape(inherited.shape).astype(hard_clusters.dtype, copy=False)

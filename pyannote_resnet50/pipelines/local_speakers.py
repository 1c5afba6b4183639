"""Checks of the local speakers of the diarization pipeline, before clustering.

The failure addressed
---------------------
The pipeline (as pyannote.audio's) trusts the segmentation model about *who* speaks
within a chunk: each local speaker of a 10 s chunk gets one embedding and goes to one
cluster as a whole. When the segmentation model gives two different voices the same
local speaker (a turn change it missed, most often between two voices of the same
gender with no pause or overlap between them), that local speaker is *impure*: its
embedding is a mixture of both voices, it lands in one of their clusters (or between
them), and the whole of the other voice's speech in that chunk is attributed to the
wrong speaker. Clustering cannot repair it, as it never sees the two voices apart.

The check implemented: split a local speaker where the embeddings of its halves disagree
----------------------------------------------------------------------------------------
:func:`halve_local_speakers` cuts the activity of every (chunk, local speaker) in two
halves in time: the active frames up to the middle of its activity (by cumulative count
of active frames), and the rest. Their embeddings are pooled in the same pass of the
embedding trunk as the full ones (the trunk runs once per block of audio, pooling a slot
more is cheap; see ``SpeakerDiarization.get_embeddings``).
:func:`split_local_speakers` then makes two local speakers of each one whose half
embeddings are further apart (cosine distance) than a threshold, both halves being long
enough: the clustering sees, and may separate, the two voices; two halves of one voice
that were split anyway (a false alarm) usually go back to the same cluster, whose
activity is then the same as the unsplit speaker's. A change of speaker is only found
near the middle of the activity: a second voice that speaks a small part of it
dilutes one half only, which this check may miss.

Implemented beside it
---------------------
* Uniform windows (:mod:`~pyannote_resnet50.pipelines.uniform_windows`,
  ``local_speaker_check="uniform_windows"``): every local speaker's activity cut by short
  uniform windows of the chunk, one embedding per window, so that no embedding mixes two
  turns far apart; more embeddings to cluster (quadratic cost of agglomerative
  clustering) and noisier ones.
* Resegmentation by windows (:mod:`~pyannote_resnet50.pipelines.resegmentation`,
  ``local_speaker_check="reassign_windows"``): the clustering runs on the whole local
  speakers as without a check; afterwards, each window part of a local speaker goes to
  the speaker whose centroid is clearly closer to its embedding (a hard, HMM-free
  version of VBx's resegmentation of 1.5 s x-vectors).

Alternative not implemented
---------------------------
* VBx resegmentation proper: an HMM over frame-level (or short-window) embeddings and
  the cluster posteriors, which smooths the decisions in time, at the cost of a second
  pass over the whole recording.
"""

from typing import Optional, Tuple

import numpy as np
from pyannote.core import SlidingWindowFeature

__all__ = [
    "LOCAL_SPEAKER_CHECKS",
    "WINDOWED_CHECKS",
    "CHECK_PARAMETERS",
    "halve_local_speakers",
    "split_local_speakers",
    "second_half_start",
]

#: values of ``SpeakerDiarization(local_speaker_check=...)``: no check,
#: :func:`split_local_speakers` on the embeddings of the halves of :func:`halve_local_speakers`,
#: every local speaker cut by uniform windows of the chunk
#: (:mod:`~pyannote_resnet50.pipelines.uniform_windows`), or those windows re-assigned to the
#: speakers after clustering (:mod:`~pyannote_resnet50.pipelines.resegmentation`)
LOCAL_SPEAKER_CHECKS = ("none", "split_halves", "uniform_windows", "reassign_windows")
#: the checks that cut local speakers by uniform windows of the chunk (``uniform_window`` seconds)
WINDOWED_CHECKS = ("uniform_windows", "reassign_windows")
#: the group of hyper-parameters (a ``ParamDict`` attribute of the pipeline) of each check that has one
CHECK_PARAMETERS = {"split_halves": "local_speakers", "reassign_windows": "resegmentation"}


def second_half_start(binary_segmentations: np.ndarray) -> np.ndarray:
    """First frame of the second half of each (chunk, local speaker) activity

    Parameters
    ----------
    binary_segmentations : (num_chunks, num_frames, local_num_speakers) np.ndarray
        Binary speaker activity (NaN counts as inactive).

    Returns
    -------
    start : (num_chunks, local_num_speakers) np.ndarray
        Frames before ``start`` hold the first ``floor(n / 2)`` of the ``n`` active frames,
        the others the last ``ceil(n / 2)`` ones; ``num_frames`` for an inactive speaker.
    """
    active = np.nan_to_num(binary_segmentations, nan=0.0) > 0
    cumulative = np.cumsum(active, axis=1, dtype=np.int64)
    total = cumulative[:, -1:, :]
    # frames whose cumulative active count is at most half: they precede the second half
    return np.sum(2 * cumulative <= total, axis=1)


def _first_half_frames(binary_segmentations: np.ndarray) -> np.ndarray:
    """(num_chunks, num_frames, local_num_speakers) boolean: frames before the second half"""
    num_frames = binary_segmentations.shape[1]
    start = second_half_start(binary_segmentations)
    return np.arange(num_frames)[None, :, None] < start[:, None, :]


def _partition(data: np.ndarray, keep: np.ndarray, move: np.ndarray) -> np.ndarray:
    """(..., 2 * L) activity: `data` where `keep` in slots 0..L-1, where `move` in slots L..2L-1, else 0"""
    zero = np.zeros((), dtype=data.dtype)
    return np.concatenate([np.where(keep, data, zero), np.where(move, data, zero)], axis=2)


def halve_local_speakers(binary_segmentations: SlidingWindowFeature) -> SlidingWindowFeature:
    """Cut the activity of every (chunk, local speaker) in two halves

    Parameters
    ----------
    binary_segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
        Binary speaker activity (NaN counts as inactive).

    Returns
    -------
    halves : (num_chunks, num_frames, 2 * local_num_speakers) SlidingWindowFeature
        Slot ``k``: the active frames of local speaker ``k`` up to the middle of its
        activity (the first ``floor(n / 2)`` of its ``n`` active frames); slot
        ``local_num_speakers + k``: the rest. The halves are disjoint and their union is
        the speaker's activity. Same sliding window and dtype as the input.
    """
    data = np.nan_to_num(binary_segmentations.data, nan=0.0)
    first = _first_half_frames(data)
    return SlidingWindowFeature(_partition(data, first, ~first), binary_segmentations.sliding_window)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine distance (in [0, 2]) between the vectors of the last axis of `a` and `b`

    NaN where one of them is not finite or is zero.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
        distance = 1.0 - np.sum(a * b, axis=-1) / norms
    distance[~(norms > 0) | ~np.isfinite(distance)] = np.nan
    return distance


def split_local_speakers(
    segmentations: SlidingWindowFeature,
    binary_segmentations: SlidingWindowFeature,
    embeddings: np.ndarray,
    half_embeddings: np.ndarray,
    threshold: float,
    min_duration: float,
    frame_duration: Optional[float] = None,
) -> Tuple[SlidingWindowFeature, SlidingWindowFeature, np.ndarray, np.ndarray]:
    """Make two local speakers of each one whose halves have distant embeddings

    Parameters
    ----------
    segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
        Speaker activations (soft for multilabel models), as used by ``reconstruct``.
    binary_segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
        Their binarization; the halves are those of :func:`halve_local_speakers`.
    embeddings : (num_chunks, local_num_speakers, dimension) np.ndarray
        Embedding of each (chunk, local speaker) (NaN: none).
    half_embeddings : (num_chunks, 2 * local_num_speakers, dimension) np.ndarray
        Embeddings of the halves of :func:`halve_local_speakers` (NaN: none).
    threshold : float
        A local speaker is split when the cosine distance between the embeddings of its
        halves is larger than that (in [0, 2]).
    min_duration : float
        ... and each half has at least that many seconds of activity.
    frame_duration : float, optional
        Duration of a segmentation frame (its step), in seconds. Defaults to the chunk
        duration divided by the number of frames.

    Returns
    -------
    segmentations : (num_chunks, num_frames, 2 * local_num_speakers) SlidingWindowFeature
    binary_segmentations : (num_chunks, num_frames, 2 * local_num_speakers) SlidingWindowFeature
        Local speaker ``k`` keeps its first half when split, all its frames otherwise;
        slot ``local_num_speakers + k`` holds the second half when split, nothing (zero
        activity) otherwise. The frames are cut at the same instant in both (soft
        activations included), so that the two new speakers together have exactly the
        activity of the one they come from.
    embeddings : (num_chunks, 2 * local_num_speakers, dimension) np.ndarray
        Half embeddings for the split speakers, the full embedding otherwise; NaN for
        the empty slots.
    split : (num_chunks, local_num_speakers) np.ndarray
        Which local speakers were split (``split.sum()`` is the number of splits).
    """
    soft = segmentations.data
    binary = np.nan_to_num(binary_segmentations.data, nan=0.0)
    num_chunks, num_frames, num_speakers = binary.shape
    if soft.shape != binary.shape:
        raise ValueError(f"segmentations {soft.shape} and binary_segmentations {binary.shape} differ in shape.")
    if embeddings.shape[:2] != (num_chunks, num_speakers):
        raise ValueError(f"embeddings of shape {embeddings.shape}: expected ({num_chunks}, {num_speakers}, dimension).")
    if half_embeddings.shape != (num_chunks, 2 * num_speakers, embeddings.shape[2]):
        raise ValueError(f"half_embeddings of shape {half_embeddings.shape}: expected "
                         f"({num_chunks}, {2 * num_speakers}, {embeddings.shape[2]}).")
    if frame_duration is None:
        frame_duration = binary_segmentations.sliding_window.duration / num_frames

    first_frames = _first_half_frames(binary)
    active = binary > 0
    first_duration = np.sum(active & first_frames, axis=1) * frame_duration
    second_duration = np.sum(active & ~first_frames, axis=1) * frame_duration
    first, second = half_embeddings[:, :num_speakers], half_embeddings[:, num_speakers:]
    distance = cosine_distance(first, second)
    with np.errstate(invalid="ignore"):
        split = (distance > threshold) & (first_duration >= min_duration) & (second_duration >= min_duration)

    keep = ~split[:, None, :] | first_frames  # frames slot k keeps
    move = split[:, None, :] & ~first_frames  # frames going to slot L + k

    expanded = np.full((num_chunks, 2 * num_speakers, embeddings.shape[2]), np.nan, dtype=embeddings.dtype)
    expanded[:, :num_speakers] = np.where(split[..., None], first, embeddings)
    expanded[:, num_speakers:] = np.where(split[..., None], second, np.nan)
    return (
        SlidingWindowFeature(_partition(soft, keep, move), segmentations.sliding_window),
        SlidingWindowFeature(_partition(binary_segmentations.data, keep, move), binary_segmentations.sliding_window),
        expanded,
        split,
    )

"""Uniform windows: local speakers cut into short windows of the chunk before clustering.

The failure addressed is that of :mod:`pyannote_resnet50.pipelines.local_speakers`: a
local speaker of the segmentation model that holds two voices (a turn change it missed)
gets one embedding mixing them, and clustering cannot separate what it never sees apart.
Instead of checking the local speakers, this option stops trusting them for *who*
speaks beyond a few seconds: every (chunk, local speaker) activity is cut by uniform
windows of the chunk (e.g. 4 windows of 2.5 s in a 10 s chunk), and each window's part
is a local speaker of its own, with its own embedding (pooled from the same pass of the
embedding trunk, see ``SpeakerDiarization.get_embeddings``), clustered and
reconstructed as any local speaker. The segmentation still decides *where* speech is
and how many speakers overlap (the speaker count). An x-vector system's uniform 1.5 s
windows (VBx) do the same, with the segmentation's speaker separation kept inside each
window: two overlapping local speakers of a window stay two embeddings.

Costs: more embeddings to cluster (agglomerative clustering is quadratic in their number),
each from less speech (noisier).
"""

import numpy as np
from pyannote.core import SlidingWindowFeature

__all__ = ["window_starts", "window_local_speakers"]


def window_starts(num_frames: int, num_windows: int) -> np.ndarray:
    """First frame of each of `num_windows` uniform windows of `num_frames` frames (and `num_frames`)

    Returns
    -------
    bounds : (num_windows + 1, ) np.ndarray
        Window ``w`` holds frames ``bounds[w]`` to ``bounds[w + 1] - 1``.
    """
    if num_windows < 1:
        raise ValueError(f"num_windows must be at least 1, not {num_windows}.")
    return np.rint(np.linspace(0, num_frames, num_windows + 1)).astype(int)


def window_local_speakers(segmentations: SlidingWindowFeature, num_windows: int) -> SlidingWindowFeature:
    """Cut the activity of every (chunk, local speaker) by `num_windows` uniform windows of the chunk

    Parameters
    ----------
    segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
        Speaker activity, binary or soft (NaN kept as it is).
    num_windows : int
        Number of windows of a chunk.

    Returns
    -------
    windowed : (num_chunks, num_frames, num_windows * local_num_speakers) SlidingWindowFeature
        Slot ``w * local_num_speakers + k``: the activity of local speaker ``k`` in the
        frames of window ``w``, zero elsewhere. The slots of one local speaker are disjoint
        and their union (sum) is its activity. Same sliding window and dtype as the input.
    """
    data = segmentations.data
    num_chunks, num_frames, num_speakers = data.shape
    bounds = window_starts(num_frames, num_windows)
    windowed = np.zeros((num_chunks, num_frames, num_windows * num_speakers), dtype=data.dtype)
    for w in range(num_windows):
        frames = slice(bounds[w], bounds[w + 1])
        windowed[:, frames, w * num_speakers : (w + 1) * num_speakers] = data[:, frames]
    return SlidingWindowFeature(windowed, segmentations.sliding_window)

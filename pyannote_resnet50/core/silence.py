"""Digital silence: the stretches of a file whose samples carry no signal.

Segmentation models normalise their input (PyanNet's SincNet starts with an instance
normalisation of the waveform), so that they see digital silence or ±1 LSB dither as
loud noise, and can call it speech: on 30 s of dither the shipped segmentation found
speech at the end of its last chunk. Whether audio is silent is a question of its
amplitude, which the model does not see: :func:`silent_frames` answers it for every
frame of every chunk of a sliding-window segmentation, from the largest absolute sample
of the audio that frame covers (its receptive field). The default threshold,
:data:`SILENCE_AMPLITUDE` (2 least significant bits of 16-bit audio, -84 dBFS peak), is
below any frame of the AMI excerpts shipped with the package (whose speech goes down
to -90 dBFS RMS over 10 ms) and above sox-style dither.

Audio is read by pyannote.audio's ``Audio`` (the samples the models see), one block of
a few minutes at a time.
"""

import math
from typing import Optional

import numpy as np
from pyannote.audio.core.io import Audio, AudioFile
from pyannote.core import Segment, SlidingWindow, SlidingWindowFeature

__all__ = ["SILENCE_AMPLITUDE", "frame_peaks", "silent_frames"]

#: largest absolute sample of silent audio: 2 least significant bits of 16-bit PCM (-84.3 dBFS)
SILENCE_AMPLITUDE = 2.0**-14
#: resolution of the peak envelope, in seconds
PEAK_STEP = 0.01
#: duration of the audio blocks read at once, in seconds
BLOCK_DURATION = 300.0


def frame_peaks(file: AudioFile, audio: Audio, step: float = PEAK_STEP) -> SlidingWindowFeature:
    """Largest absolute sample of each `step`-long stretch of `file`

    Parameters
    ----------
    file : AudioFile
    audio : Audio
        Reader (sample rate, downmix) of the model the peaks are compared with.
    step : float, optional
        Resolution, in seconds. Defaults to :data:`PEAK_STEP` (10 ms).

    Returns
    -------
    peaks : (num_steps, 1) SlidingWindowFeature
        ``peaks[i]`` is the largest absolute sample of ``[i * step, (i + 1) * step)``.
    """
    duration = audio.get_duration(file)
    samples_per_step = max(1, round(step * audio.sample_rate))
    step = samples_per_step / audio.sample_rate
    num_steps = max(1, math.ceil(duration / step))
    steps_per_block = max(1, round(BLOCK_DURATION / step))
    peaks = np.zeros(num_steps, dtype=np.float32)
    for first in range(0, num_steps, steps_per_block):
        end = min(num_steps, first + steps_per_block)
        waveform, _ = audio.crop(file, Segment(first * step, end * step), mode="pad")
        samples = waveform.abs().amax(dim=0).numpy()  # (num_samples, ) largest over channels
        samples = np.pad(samples, (0, max(0, (end - first) * samples_per_step - len(samples))))
        peaks[first:end] = samples[: (end - first) * samples_per_step].reshape(end - first, -1).max(axis=1)
    return SlidingWindowFeature(peaks[:, None], SlidingWindow(start=0.0, duration=step, step=step))


def silent_frames(
    file: AudioFile,
    chunks: SlidingWindow,
    num_chunks: int,
    frames: SlidingWindow,
    num_frames: int,
    audio: Audio,
    amplitude: Optional[float] = SILENCE_AMPLITUDE,
) -> np.ndarray:
    """Which frames of which chunks cover digital silence only

    Parameters
    ----------
    file : AudioFile
    chunks : SlidingWindow
        Chunks of the sliding-window segmentation.
    num_chunks : int
    frames : SlidingWindow
        Frames of a chunk, relative to its start (the model's ``receptive_field``: each
        frame's duration is the audio its output depends on).
    num_frames : int
        Number of frames per chunk.
    audio : Audio
        Reader of the segmentation model (sample rate, downmix).
    amplitude : float, optional
        Largest absolute sample of silent audio. Defaults to :data:`SILENCE_AMPLITUDE`.

    Returns
    -------
    silent : (num_chunks, num_frames) np.ndarray of bool
        True where no sample of the frame's receptive field exceeds `amplitude` (also
        past the end of the file, in the zero-padded last chunk).
    """
    peaks = frame_peaks(file, audio)
    step = peaks.sliding_window.step
    envelope = peaks.data[:, 0]
    width = math.ceil(frames.duration / step) + 1  # steps overlapping any frame
    offsets = frames.start + frames.step * np.arange(num_frames)  # frame starts, relative to their chunk
    last = math.floor((chunks.start + chunks.step * (num_chunks - 1) + offsets[-1]) / step)
    # largest peak of steps [i, i + width), for every i a frame can start in (past the end: silent)
    padded = np.zeros(max(len(envelope), last + 1) + width, dtype=envelope.dtype)
    padded[: len(envelope)] = envelope
    windowed = np.max(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
    silent = np.empty((num_chunks, num_frames), dtype=bool)
    for c in range(num_chunks):  # one chunk at a time: no (num_chunks, num_frames) float arrays
        first = np.floor((chunks.start + chunks.step * c + offsets) / step).astype(int)
        silent[c] = windowed[np.clip(first, 0, None)] <= amplitude
    return silent

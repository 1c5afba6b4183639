"""Sliding-window inference that reads the audio block by block

pyannote.audio's :class:`~pyannote.audio.core.inference.Inference` loads the whole
waveform before sliding the model over it: 0.92 GB of float32 samples for a 4-hour
recording at 16 kHz (more before downmixing and resampling). :class:`StreamingInference`
slides the same model on the same chunks but reads only a block of a few minutes of
audio at a time, so that its memory does not grow with the file's length (only its
output does: one small array per chunk).

Each block holds a whole number of chunks, aligned on the sliding window step, and
is handed to pyannote's own :meth:`~pyannote.audio.core.inference.Inference.slide`:
chunk positions, the zero-padded last chunk, batches and values are those of
``Inference(...)(file)``. Samples are read exactly (sample indices, not rounded
times); files at another sample rate are resampled block by block with enough
context on both sides (and block starts aligned on the resampling period) that the
samples are those of resampling the whole file.
"""

import functools
import math
from io import IOBase
from typing import Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from pyannote.audio import Inference
from pyannote.audio.core.io import AudioFile, get_torchaudio_info
from pyannote.audio.core.task import Resolution
from pyannote.audio.utils.multi_task import map_with_specifications
from pyannote.audio.utils.reproducibility import fix_reproducibility
from pyannote.core import Segment, SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.core.io import validate_file

__all__ = ["StreamingInference", "num_sliding_chunks", "chunk_blocks"]

#: default duration of the audio blocks read at once, in seconds (rounded to whole batches)
BLOCK_DURATION = 300.0
#: context (in seconds) read on both sides of a block that must be resampled
RESAMPLING_CONTEXT = 1.0


def num_sliding_chunks(num_samples: int, window_size: int, step_size: int) -> Tuple[int, bool]:
    """Chunks of pyannote.audio's ``Inference.slide`` over `num_samples` samples

    Parameters
    ----------
    num_samples : int
        Number of samples of the waveform.
    window_size, step_size : int
        Chunk duration and step, in samples.

    Returns
    -------
    num_complete_chunks : int
        Chunks lying entirely within the waveform (the k-th starts at sample
        ``k * step_size``).
    has_last_chunk : bool
        Whether a last, zero-padded chunk follows them (starting at
        ``num_complete_chunks * step_size``).
    """
    num_complete_chunks = (num_samples - window_size) // step_size + 1 if num_samples >= window_size else 0
    has_last_chunk = num_samples < window_size or (num_samples - window_size) % step_size > 0
    return num_complete_chunks, bool(has_last_chunk)


def chunk_blocks(
    num_samples: int, window_size: int, step_size: int, chunks_per_block: int
) -> List[Tuple[int, int, int, int]]:
    """Split pyannote's sliding window into blocks of whole chunks

    Parameters
    ----------
    num_samples, window_size, step_size : int
        As in :func:`num_sliding_chunks`.
    chunks_per_block : int
        Number of chunks per block (the last block may have fewer).

    Returns
    -------
    blocks : list of (first_chunk, end_chunk, start_sample, end_sample) tuples
        Sliding ``Inference.slide`` over samples ``[start_sample, end_sample)`` gives
        exactly chunks ``[first_chunk, end_chunk)`` of the whole waveform: complete
        chunks only, but in the last block, which ends with the file (and its
        zero-padded last chunk, if any).
    """
    if chunks_per_block < 1:
        raise ValueError(f"chunks_per_block must be a positive integer, not {chunks_per_block!r}.")
    num_complete_chunks, has_last_chunk = num_sliding_chunks(num_samples, window_size, step_size)
    num_chunks = num_complete_chunks + has_last_chunk
    blocks = []
    for first in range(0, num_chunks, chunks_per_block):
        end = min(num_chunks, first + chunks_per_block)
        if end == num_chunks:
            stop = num_samples
        else:
            stop = (end - 1) * step_size + window_size
        blocks.append((first, end, first * step_size, stop))
    return blocks


class StreamingInference(Inference):
    """pyannote.audio's sliding-window ``Inference``, reading audio block by block

    Same parameters, behaviour and output as
    :class:`pyannote.audio.core.inference.Inference` (it is one), but
    ``inference(file)`` with ``window="sliding"`` never loads the whole waveform:
    it reads blocks of `chunks_per_block` chunks (a few minutes of audio) and
    calls :meth:`~pyannote.audio.core.inference.Inference.slide` on each. The
    output (chunks, values, aggregation) is that of ``Inference`` up to float
    rounding. ``window="whole"``, ``crop`` and streams (file objects) are
    pyannote's (the whole waveform is loaded).

    Parameters
    ----------
    model, window, duration, step, pre_aggregation_hook, skip_aggregation,
    skip_conversion, device, batch_size, use_auth_token
        See :class:`pyannote.audio.core.inference.Inference`.
    chunks_per_block : int, optional
        Number of chunks per block of audio. Defaults to a whole number of batches
        covering about ``BLOCK_DURATION`` (300) seconds.

    Usage
    -----
    >>> inference = StreamingInference(model, step=5.0, skip_aggregation=True)
    >>> segmentations = inference("four-hours.wav")  # as Inference(model, ...)(file)
    """

    def __init__(self, *args, chunks_per_block: Optional[int] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if chunks_per_block is not None and (not isinstance(chunks_per_block, int) or chunks_per_block < 1):
            raise ValueError(f"chunks_per_block must be a positive integer, not {chunks_per_block!r}.")
        self.chunks_per_block = chunks_per_block

    def _chunks_per_block(self) -> int:
        """Chunks per block: `chunks_per_block`, else whole batches of about `BLOCK_DURATION`"""
        if self.chunks_per_block is not None:
            return self.chunks_per_block
        num_batches = max(1, round(BLOCK_DURATION / (self.batch_size * self.step)))
        return num_batches * self.batch_size

    # ~~~~ audio ~~~~

    def _source(self, file: AudioFile) -> Tuple[dict, int, int]:
        """Validated file, its number of samples and sample rate (before resampling)

        Returns
        -------
        file : dict
            ``{"audio": ...}`` or ``{"waveform": ..., "sample_rate": ...}``.
        num_frames : int
            Number of samples (0 for streams, whose length is not read).
        sample_rate : int
            Sample rate (0 for streams).
        """
        file = validate_file(file)  # pyannote's, converting in-memory waveforms (dtype, numpy, (time,))
        if "waveform" in file:
            return file, file["waveform"].shape[1], file["sample_rate"]
        if isinstance(file["audio"], IOBase):
            return file, 0, 0
        info = file["torchaudio.info"] if "torchaudio.info" in file else get_torchaudio_info(
            file, backend=self.model.audio.backend
        )
        return file, info.num_frames, info.sample_rate

    def _read(self, file: dict, sample_rate: int, num_frames: int, start: int, end: int) -> torch.Tensor:
        """Samples ``[start, end)`` of `file` (at the model's sample rate), downmixed

        Parameters
        ----------
        file : dict
            Validated file (``{"audio": path}`` or ``{"waveform": ..., "sample_rate": ...}``).
        sample_rate : int
            Sample rate of `file`.
        num_frames : int
            Number of samples of `file`, at `sample_rate`.
        start, end : int
            First and last (excluded) samples, at the model's sample rate.

        Returns
        -------
        waveform : (num_channels, end - start) torch.Tensor
            Exactly those of the whole (downmixed, resampled) file.
        """
        audio = self.model.audio
        target = audio.sample_rate
        if sample_rate == target:
            first, offset, stop = start, 0, end
        else:
            # resampling maps `period` source samples onto `target_period` samples: a
            # block starting on such a boundary, with context on both sides, is
            # resampled as the whole file is there
            gcd = math.gcd(sample_rate, target)
            period, target_period = sample_rate // gcd, target // gcd
            context = math.ceil(RESAMPLING_CONTEXT * target)
            first_period = max(0, start - context) // target_period
            first = first_period * period
            offset = start - first_period * target_period
            stop = min(num_frames, -(-(end + context) // target_period) * period)
        # half a sample past each boundary: Audio.crop floors `time * sample_rate`
        segment = Segment((first + 0.5) / sample_rate, (stop + 0.5) / sample_rate)
        waveform, _ = audio.crop(file, segment, mode="pad")
        return waveform[:, offset : offset + end - start]

    # ~~~~ inference ~~~~

    def __call__(
        self, file: AudioFile, hook: Optional[Callable] = None
    ) -> Union[Tuple[Union[SlidingWindowFeature, np.ndarray]], Union[SlidingWindowFeature, np.ndarray]]:
        """Run inference on a whole file, one block of audio at a time

        Parameters
        ----------
        file : AudioFile
            Audio file: path, ``{"audio": path}`` or ``{"waveform": (channel, time)
            torch.Tensor, "sample_rate": int}``.
        hook : callable, optional
            Called as pyannote's: ``hook(completed=..., total=...)`` (numbers of chunks
            of the whole file) after every batch.

        Returns
        -------
        output : (tuple of) SlidingWindowFeature or np.ndarray
            As ``Inference.__call__``.
        """
        if self.window != "sliding":
            return super().__call__(file, hook=hook)
        source, num_frames, sample_rate = self._source(file)
        if isinstance(source.get("audio"), IOBase):  # streams are read whole, as pyannote does
            return super().__call__(file, hook=hook)

        fix_reproducibility(self.device)

        target = self.model.audio.sample_rate
        # the number of samples of the whole resampled file (torchaudio's resample)
        num_samples = -(-num_frames * target // sample_rate)
        window_size = self.model.audio.get_num_samples(self.duration)
        step_size = round(self.step * target)
        blocks = chunk_blocks(num_samples, window_size, step_size, self._chunks_per_block())
        num_chunks = blocks[-1][1]
        _, has_last_chunk = num_sliding_chunks(num_samples, window_size, step_size)

        if hook is not None:
            hook(completed=0, total=num_chunks)

        outputs = None
        # slide gives raw chunk outputs (restored in `finally`): aggregation, if any,
        # runs once, on the chunks of all blocks
        skip_aggregation, pre_aggregation_hook = self.skip_aggregation, self.pre_aggregation_hook
        self.skip_aggregation, self.pre_aggregation_hook = True, None
        try:
            for first, end, start, stop in blocks:
                waveform = self._read(source, sample_rate, num_frames, start, stop)

                def block_hook(completed: int = 0, total: int = 0, first=first, end=end):
                    if hook is not None:
                        hook(completed=first + min(completed, end - first), total=num_chunks)

                block_outputs = self.slide(waveform, target, hook=None if hook is None else block_hook)
                del waveform

                def store(output: Optional[np.ndarray], block_output: SlidingWindowFeature, **kwargs):
                    data = block_output.data
                    if data.shape[0] != end - first:  # not expected: chunk_blocks mirrors slide
                        raise RuntimeError(
                            f"block of chunks [{first}, {end}) gave {data.shape[0]} chunks instead of {end - first}."
                        )
                    if output is None:
                        output = np.empty((num_chunks,) + data.shape[1:], dtype=data.dtype)
                    output[first:end] = data
                    return output

                if outputs is None:
                    outputs = map_with_specifications(
                        self.model.specifications, lambda block_output, **kwargs: store(None, block_output),
                        block_outputs,
                    )
                else:
                    map_with_specifications(self.model.specifications, store, outputs, block_outputs)
        finally:
            self.skip_aggregation, self.pre_aggregation_hook = skip_aggregation, pre_aggregation_hook

        # the zero-padded last chunk, if any, is cropped off the aggregated output
        duration = num_samples / target if has_last_chunk else None
        aggregate = functools.partial(self._aggregate_chunks, duration=duration)
        return map_with_specifications(self.model.specifications, aggregate, outputs, self.model.receptive_field)

    def _aggregate_chunks(
        self,
        outputs: np.ndarray,
        receptive_field: SlidingWindow,
        duration: Optional[float] = None,
        specifications=None,
    ) -> SlidingWindowFeature:
        """What the end of pyannote's ``Inference.slide`` does with all chunk outputs

        Raw chunk outputs when aggregation is skipped (``skip_aggregation``, chunk-level
        or permutation-invariant outputs without ``pre_aggregation_hook``), else their
        overlap-add aggregation, cropped to [0, `duration`] when `duration` is given
        (the file ends inside the last, zero-padded chunk).
        """
        chunks = SlidingWindow(start=0.0, duration=self.duration, step=self.step)
        if (
            self.skip_aggregation
            or specifications.resolution == Resolution.CHUNK
            or (specifications.permutation_invariant and self.pre_aggregation_hook is None)
        ):
            return SlidingWindowFeature(outputs, chunks)

        if self.pre_aggregation_hook is not None:
            outputs = self.pre_aggregation_hook(outputs)
        aggregated = self.aggregate(
            SlidingWindowFeature(outputs, chunks),
            receptive_field,
            warm_up=self.warm_up,
            hamming=True,
            missing=0.0,
        )
        if duration is not None:  # remove the padding of the last chunk
            aggregated.data = aggregated.crop(Segment(0.0, duration), mode="loose")
        return aggregated

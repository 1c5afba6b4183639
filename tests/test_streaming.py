"""StreamingInference (block-wise audio reading) gives pyannote's Inference output.

Segmentation model: the committed default checkpoint when it exists, else a tiny
randomly initialised one (only equality with pyannote's ``Inference`` is checked).
"""

import numpy as np
import pytest
import soundfile as sf
import torch
from pyannote.audio import Inference
from pyannote.audio.sample import SAMPLE_FILE

from pyannote_resnet50.core.inference import StreamingInference, chunk_blocks, num_sliding_chunks
from pyannote_resnet50.pipelines.utils import DEFAULT_SEGMENTATION, load_model, random_segmentation_checkpoint

torch.set_num_threads(2)

#: 70.3 s: not a whole number of 5-second steps after the first 10-second chunk
DURATION = 70.3


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    checkpoint = DEFAULT_SEGMENTATION
    if not checkpoint.is_file():
        checkpoint = random_segmentation_checkpoint(
            tmp_path_factory.mktemp("checkpoints") / "segmentation.ckpt",
            duration=10.0,
            sincnet={"stride": 10},
            lstm={"hidden_size": 32, "num_layers": 1},
            linear={"hidden_size": 32, "num_layers": 1},
        )
    return load_model(checkpoint, None)


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """DURATION seconds of speech at 16 kHz: pyannote's sample.wav repeated"""
    waveform, sample_rate = sf.read(SAMPLE_FILE["audio"], dtype="float32")
    assert sample_rate == 16000
    return np.tile(waveform, 3)[: round(DURATION * sample_rate)]


@pytest.fixture(scope="module")
def wav(tmp_path_factory, samples) -> str:
    path = tmp_path_factory.mktemp("audio") / "long.wav"
    sf.write(path, samples, 16000, subtype="PCM_16")
    return str(path)


def inferences(model, step: float = 0.5, **kwargs):
    """(pyannote's Inference, StreamingInference) with the same settings"""
    duration = model.specifications.duration
    settings = dict(duration=duration, step=step * duration, skip_aggregation=True, batch_size=4)
    settings.update(kwargs)
    chunks_per_block = settings.pop("chunks_per_block", None)
    return Inference(model, **settings), StreamingInference(model, chunks_per_block=chunks_per_block, **settings)


def assert_same(output, expected):
    assert output.data.shape == expected.data.shape
    assert output.data.dtype == expected.data.dtype
    for attribute in ("start", "duration", "step"):
        assert getattr(output.sliding_window, attribute) == getattr(expected.sliding_window, attribute)
    np.testing.assert_allclose(output.data, expected.data, rtol=0, atol=1e-5)


@pytest.mark.parametrize("num_samples", [0, 1, 159_999, 160_000, 160_001, 240_000, 1_124_800])
@pytest.mark.parametrize("chunks_per_block", [1, 2, 3, 7, 1000])
def test_chunk_blocks(num_samples, chunks_per_block):
    window_size, step_size = 160_000, 80_000
    # pyannote's Inference.slide
    num_chunks = (num_samples - window_size) // step_size + 1 if num_samples >= window_size else 0
    has_last_chunk = num_samples < window_size or (num_samples - window_size) % step_size > 0
    assert num_sliding_chunks(num_samples, window_size, step_size) == (num_chunks, has_last_chunk)

    blocks = chunk_blocks(num_samples, window_size, step_size, chunks_per_block)
    assert blocks[0][0] == 0 and blocks[-1][1] == num_chunks + has_last_chunk and blocks[-1][3] == num_samples
    for (first, end, start, stop), following in zip(blocks, blocks[1:] + [None]):
        assert 0 < end - first <= chunks_per_block and start == first * step_size
        complete, last = num_sliding_chunks(stop - start, window_size, step_size)
        if following is None:
            assert (complete, last) == (end - first - has_last_chunk, has_last_chunk)
        else:
            assert following[0] == end and (complete, last) == (end - first, False)


@pytest.mark.parametrize("chunks_per_block", [1, 3, 4, 5, None])
def test_same_as_inference(model, wav, chunks_per_block):
    inference, streaming = inferences(model, chunks_per_block=chunks_per_block)
    expected = inference(wav)
    # the file is not a whole number of steps: the last chunk is zero-padded
    assert expected.data.shape[0] == 14
    assert_same(streaming(wav), expected)
    assert_same(streaming({"uri": "long", "audio": wav}), expected)


def test_smaller_step(model, wav):
    inference, streaming = inferences(model, step=0.1, chunks_per_block=6)
    assert_same(streaming(wav), inference(wav))


def test_aggregation(model, wav):
    """Aggregated outputs (here forced with a pre-aggregation hook) are pyannote's too"""
    inference, streaming = inferences(
        model, step=0.1, chunks_per_block=5, skip_aggregation=False, pre_aggregation_hook=lambda x: x
    )
    assert_same(streaming(wav), inference(wav))


def test_short_file(model, samples, tmp_path):
    """Shorter than one chunk: a single zero-padded chunk"""
    path = tmp_path / "short.wav"
    sf.write(path, samples[:50_000], 16000, subtype="PCM_16")
    inference, streaming = inferences(model, chunks_per_block=2)
    output = streaming(str(path))
    assert output.data.shape[0] == 1
    assert_same(output, inference(str(path)))


def test_in_memory_waveform(model, samples):
    inference, streaming = inferences(model, chunks_per_block=3)
    file = {"uri": "memory", "waveform": torch.from_numpy(samples[None]), "sample_rate": 16000}
    assert_same(streaming(file), inference(file))


def test_resampled_stereo(model, samples, tmp_path):
    """Another sample rate and two channels: resampled and downmixed block by block"""
    from scipy.signal import resample_poly

    mono = resample_poly(samples, 441, 160).astype(np.float32)
    stereo = np.stack([mono, 0.5 * mono[::-1]])
    path = tmp_path / "stereo-44k.wav"
    sf.write(path, stereo.T, 44100, subtype="FLOAT")
    inference, streaming = inferences(model, chunks_per_block=3)
    expected = inference(str(path))
    assert_same(streaming(str(path)), expected)
    file = {"uri": "memory", "waveform": torch.from_numpy(stereo), "sample_rate": 44100}
    assert_same(streaming(file), inference(file))


def test_progress_hook(model, wav):
    _, streaming = inferences(model, chunks_per_block=3)
    calls = []
    output = streaming(wav, hook=lambda completed=None, total=None: calls.append((completed, total)))
    num_chunks = output.data.shape[0]
    assert calls[0] == (0, num_chunks) and calls[-1] == (num_chunks, num_chunks)
    assert all(total == num_chunks for _, total in calls)
    completed = [c for c, _ in calls]
    assert completed == sorted(completed)


def test_pipeline_segmentation(model, wav):
    """The pipeline's segmentation step streams, with pyannote's output and progress hook"""
    from pyannote.audio.pipelines.utils.hook import ProgressHook

    from pyannote_resnet50.pipelines import SpeakerDiarization

    # without the digital-silence gate, which also zeroes the frames past the end of the file
    pipeline = SpeakerDiarization(segmentation=model, silence_amplitude=None)
    assert isinstance(pipeline._segmentation, StreamingInference)
    inference, _ = inferences(model, batch_size=pipeline.segmentation_batch_size)
    file = {"uri": "long", "audio": wav}
    with ProgressHook() as hook:
        segmentations = pipeline.get_segmentations(file, hook=pipeline.setup_hook(file, hook=hook))
    assert_same(segmentations, inference(wav))

"""In-memory waveforms: the pipeline takes the {"waveform", "sample_rate"} dicts users pass.

Any float dtype is cast, 8 / 16 / 32-bit integer PCM is scaled, numpy arrays are converted,
(time,) is one channel; other inputs and sample rates that are not positive integers are
refused with a message saying what to pass (`pyannote_resnet50.core.io.validate_file`).
"""

import numpy as np
import pytest
import soundfile as sf
import torch
from pyannote.audio.sample import SAMPLE_FILE
from pyannote.core import Annotation

import pyannote_resnet50
from pyannote_resnet50.core.batch import load_pipeline
from pyannote_resnet50.core.io import check_sample_rate, validate_file

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def speech():
    """The first 10 s of pyannote's sample, as 16-bit PCM and as floats (exactly int16 / 32768)"""
    pcm, sample_rate = sf.read(SAMPLE_FILE["audio"], dtype="int16", frames=160000)
    return pcm, pcm.astype(np.float32) / 32768, sample_rate


@pytest.fixture(scope="module")
def pipeline():
    return load_pipeline("default")


def test_converted_waveforms_give_the_same_diarization(pipeline, speech):
    pcm, floats, sample_rate = speech
    expected = pipeline({"waveform": torch.from_numpy(floats)[None], "sample_rate": sample_rate})
    assert isinstance(expected, Annotation) and expected.labels()
    waveforms = {
        "int16 tensor": torch.from_numpy(pcm)[None],
        "float64 tensor": torch.from_numpy(floats).double()[None],
        "numpy (channel, time)": floats[None],
        "numpy int16 (time,)": pcm,
        "tensor (time,)": torch.from_numpy(floats),
    }
    for name, waveform in waveforms.items():
        output = pipeline({"waveform": waveform, "sample_rate": sample_rate})
        assert output == expected, name
    # numpy sample rates and whole floats are integers
    assert pipeline({"waveform": pcm, "sample_rate": np.int64(sample_rate)}) == expected
    assert pipeline({"waveform": pcm, "sample_rate": float(sample_rate)}) == expected


@pytest.mark.parametrize("sample_rate, error", [(0, ValueError), (-16000, ValueError), (16000.5, ValueError),
                                                (float("nan"), ValueError), ("16000", TypeError),
                                                (True, TypeError), (None, ValueError)])
def test_sample_rate_must_be_a_positive_integer(pipeline, speech, sample_rate, error):
    with pytest.raises(error, match="sample_rate"):
        pipeline({"waveform": speech[1], "sample_rate": sample_rate})


@pytest.mark.parametrize("waveform, message", [
    (torch.zeros(1, 16000, dtype=torch.int64), "int64 samples, which have no audio scale"),
    (torch.zeros(1, 16000, dtype=torch.bool), "bool samples"),
    (torch.zeros(1, 16000, dtype=torch.complex64), "complex64 samples"),
    (np.zeros((1, 16000), dtype=np.int64), "numpy int64 samples"),
    ([0.0] * 16000, "'waveform' is a list"),
    (torch.zeros(16000, 2), r"looks like \(time, channel\); pass waveform.T"),
    (torch.zeros(1, 1, 16000), r"has shape \(1, 1, 16000\)"),
    (torch.zeros(1, 0), "holds no sample"),
])
def test_refused_waveforms(pipeline, waveform, message):
    with pytest.raises((TypeError, ValueError), match=message):
        pipeline({"waveform": waveform, "sample_rate": 16000})


def test_integer_pcm_scales():
    for dtype, full_scale in ((torch.int8, 2 ** 7), (torch.int16, 2 ** 15), (torch.int32, 2 ** 31)):
        waveform = torch.tensor([[-full_scale, 0, full_scale // 2]], dtype=dtype)
        assert validate_file({"waveform": waveform, "sample_rate": 8000})["waveform"].tolist() == [[-1.0, 0.0, 0.5]]
    unsigned = validate_file({"waveform": np.array([0, 128, 192], dtype=np.uint8), "sample_rate": 8000})
    assert unsigned["waveform"].tolist() == [[-1.0, 0.0, 0.5]] and unsigned["waveform"].dtype == torch.float32


def test_callers_dict_is_left_as_it_was():
    waveform = torch.zeros(1, 100, dtype=torch.int16)
    file = {"waveform": waveform, "sample_rate": np.int32(16000)}
    validated = validate_file(file)
    assert validated["waveform"].dtype == torch.float32 and type(validated["sample_rate"]) is int
    assert file["waveform"] is waveform and set(file) == {"waveform", "sample_rate"}
    # what needs no conversion is pyannote's own validation (paths, float32 tensors)
    assert validate_file(SAMPLE_FILE["audio"])["uri"] == "sample"
    float32 = {"waveform": torch.zeros(2, 100), "sample_rate": 16000}
    assert validate_file(float32) is float32 and check_sample_rate(8000.0) == 8000


def test_stock_pipeline_api_is_unchanged():
    """The shipped config through pyannote.audio's own loader takes the same waveforms"""
    from pyannote.audio import Pipeline

    pipeline = Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)
    output = pipeline({"waveform": np.zeros(32000, dtype=np.int16), "sample_rate": 16000})
    assert isinstance(output, Annotation) and not output  # silence

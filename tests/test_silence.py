"""Digital silence and dither are never speech (issue 23, item 2)."""

import numpy as np
import pytest
import soundfile as sf
from pyannote.audio.core.io import Audio
from pyannote.core import SlidingWindow

from pyannote_resnet50.core.silence import SILENCE_AMPLITUDE, frame_peaks, silent_frames

SAMPLE_RATE = 16000
CHUNKS = SlidingWindow(start=0.0, duration=10.0, step=5.0)
#: the shipped segmentation's frames (PyanNet's receptive field)
FRAMES = SlidingWindow(start=0.0, duration=0.0619375, step=0.016875)


def dither(seconds: float, seed: int = 0) -> np.ndarray:
    """Silence dithered as sox does: triangular noise of 1 LSB, rounded to 16 bits (values in -1, 0, 1 LSB)"""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(-0.5, 0.5, (2, int(seconds * SAMPLE_RATE))).sum(axis=0)
    return np.rint(noise).astype(np.int16)


@pytest.fixture(scope="module")
def silent_files(tmp_path_factory):
    """16-bit wav files: 30 s and 45 s of dither, 30 s of digital zeros"""
    folder = tmp_path_factory.mktemp("silence")
    files = {"dither30": dither(30), "dither45": dither(45, seed=1), "zeros": np.zeros(30 * SAMPLE_RATE, np.int16)}
    for uri, samples in files.items():
        sf.write(folder / f"{uri}.wav", samples, SAMPLE_RATE, subtype="PCM_16")
    return {uri: folder / f"{uri}.wav" for uri in files}


def test_silent_frames(tmp_path):
    """Silent where no sample of a frame's receptive field exceeds 2 LSB, including past the end"""
    samples = dither(20)
    tone = (0.01 * 32768 * np.sin(2 * np.pi * 440 * np.arange(5 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.int16)
    samples[8 * SAMPLE_RATE: 13 * SAMPLE_RATE] += tone  # -43 dBFS tone from 8 to 13 s
    sf.write(tmp_path / "x.wav", samples, SAMPLE_RATE, subtype="PCM_16")
    audio = Audio(sample_rate=SAMPLE_RATE, mono="downmix")
    silent = silent_frames(tmp_path / "x.wav", CHUNKS, 4, FRAMES, 589, audio)  # chunks 0-10 ... 15-25 s
    assert silent.shape == (4, 589)
    centres = np.array([[CHUNKS[c].start + FRAMES[f].middle for f in range(589)] for c in range(4)])
    tone_frames = (centres > 8.0 + FRAMES.duration) & (centres < 13.0 - FRAMES.duration)
    quiet_frames = (centres < 8.0 - FRAMES.duration) | (centres > 13.0 + FRAMES.duration)
    assert not silent[tone_frames].any() and silent[quiet_frames].all()
    assert silent[3][centres[3] > 20.0].all()  # past the end of the file


def test_frame_peaks_match_the_samples(tmp_path):
    samples = (np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE) * 1000).astype(np.int16)
    sf.write(tmp_path / "x.wav", samples, SAMPLE_RATE, subtype="PCM_16")
    peaks = frame_peaks(tmp_path / "x.wav", Audio(sample_rate=SAMPLE_RATE, mono="downmix"))
    expected = np.abs(samples.astype(np.float32) / 32768).reshape(300, 160).max(axis=1)
    np.testing.assert_allclose(peaks.data[:, 0], expected, rtol=1e-6)


def test_shipped_ami_speech_is_never_silent():
    """The threshold is far below real recordings: no frame of the (very quiet) AMI excerpts is silent"""
    from pyannote_resnet50.database.registry import DATA_DIR

    audio = Audio(sample_rate=SAMPLE_RATE, mono="downmix")
    for flac in sorted((DATA_DIR / "ami").glob("*.flac"))[:4]:
        num_chunks = int((audio.get_duration(flac) - 10.0) // 5.0) + 1
        assert not silent_frames(flac, CHUNKS, num_chunks, FRAMES, 589, audio).any(), flac.name
    assert SILENCE_AMPLITUDE == 2.0**-14


@pytest.fixture(scope="module")
def pipeline():
    from pyannote.audio import Pipeline

    import pyannote_resnet50

    return Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)


def test_silence_and_dither_give_no_speech(pipeline, silent_files):
    """30 s of dither gave speech at 25-30 s (the end of the last chunk), 45 s at 35-45 s"""
    for uri, path in silent_files.items():
        assert not pipeline({"uri": uri, "audio": str(path)}), uri
        # also in memory, as float samples
        waveform = sf.read(path, dtype="float32")[0][None]
        assert not pipeline({"uri": uri, "waveform": waveform, "sample_rate": SAMPLE_RATE}), uri


def test_speech_after_silence_is_kept(pipeline, silent_files):
    """The gate removes silence only: pyannote's sample after 30 s of dither keeps its speech"""
    from pyannote.audio.sample import SAMPLE_FILE

    speech, sample_rate = sf.read(SAMPLE_FILE["audio"], dtype="float32")
    waveform = np.concatenate([dither(30).astype(np.float32) / 32768, speech])[None]
    diarization = pipeline({"uri": "padded", "waveform": waveform, "sample_rate": sample_rate})
    alone = pipeline({"uri": "sample", "audio": str(SAMPLE_FILE["audio"])})
    assert diarization.get_timeline().extent().start >= 30.0
    assert abs(diarization.get_timeline().duration() - alone.get_timeline().duration()) < 1.0


def test_cli_says_no_speech_found(silent_files, tmp_path, capsys):
    from pyannote_resnet50.cli import main as cli

    assert cli(["diarize", str(silent_files["zeros"]), "--output-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"{silent_files['zeros']}: no speech found ({tmp_path / 'zeros.rttm'} is empty)" in err
    assert (tmp_path / "zeros.rttm").read_text() == ""
    assert "1 file diarized" in err and "diarizing 1 file into" in err

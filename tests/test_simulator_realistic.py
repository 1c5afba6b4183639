"""Realistic simulation (issue 10): noise-only stretches carry no label, reverberation /
real noise / band-limiting keep rate, length and labels, turn statistics follow the
requested distributions, ReadSpeech sources keep speakers apart."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pyannote_resnet50.core.io import SAMPLE_RATE
from pyannote_resnet50.database.simulator import (
    SimulationConfig,
    Source,
    readspeech_sources,
    simulate_recording,
    write_recordings,
)
from pyannote_resnet50.database.simulator.acoustics import mu_law_codec, telephone_band
from pyannote_resnet50.database.simulator.turns import crop, noise_only_stretches, place_turns, speaker_sequence

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_NOISE = SHARED / "noise"
needs_shared = pytest.mark.skipif(not SHARED_NOISE.is_dir(), reason="../shared/data/noise not found")


def energy_db(waveform: np.ndarray) -> float:
    return 10 * np.log10(np.mean(waveform.astype(np.float64) ** 2) + 1e-12)


@needs_shared
def test_noise_only_stretches_are_loud_and_unlabelled(sources):
    """Same seed with and without real noise, reverberation and band-limiting: identical
    labels; the noise-only stretches are near speech level in one, near silent in the other."""
    noise = sorted((SHARED_NOISE / "noise").glob("music__*.flac"))[:2]
    dry = SimulationConfig.voxconverse(noise_only=0.5, reverberation=0.0, band_limit=0.0, snr=(40.0, 40.0))
    wet = dataclasses.replace(dry, noise=noise, rir=[SHARED_NOISE / "rir"], reverberation=1.0, band_limit=1.0)
    a = simulate_recording("a", sources[:3], 60.0, seed=3, config=dry)
    b = simulate_recording("a", sources[:3], 60.0, seed=3, config=wet)
    assert a.annotation == b.annotation
    assert len(b.waveform) == len(a.waveform) == 60 * SAMPLE_RATE and b.waveform.dtype == np.float32

    # unlabelled stretches of at least 1 s (labels are the same in both)
    labelled = np.zeros(len(a.waveform), dtype=bool)
    for segment in a.annotation.get_timeline().support():
        labelled[int(segment.start * SAMPLE_RATE) : int(np.ceil(segment.end * SAMPLE_RATE))] = True
    speech_db = energy_db(b.waveform[labelled])
    edges = np.diff(np.concatenate([[1], labelled.astype(np.int8), [1]]))
    gaps = [(s, e) for s, e in zip(np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)) if e - s >= SAMPLE_RATE]
    assert gaps, "noise_only=0.5 must give unlabelled stretches of 1 s or more"
    # in the dry recording (SNR 40 dB, no noise files) those stretches hold only the
    # sources' own recording floor (long pauses inside an utterance) or near silence;
    # in the wet one, noise-only stretches bring music near speech level
    dry_levels = np.array([energy_db(a.waveform[s + 800 : e - 800]) - energy_db(a.waveform[labelled]) for s, e in gaps])
    wet_levels = np.array([energy_db(b.waveform[s + 800 : e - 800]) - speech_db for s, e in gaps])
    assert np.min(dry_levels) < -30
    assert np.max(wet_levels - dry_levels) > 15 and np.max(wet_levels) > -20


def test_noise_only_stretches_follow_silences():
    """Stretches are the silences of at least `min_duration` after the first turn."""
    speech = np.zeros(100000, dtype=bool)
    speech[8000:24000] = speech[48000:64000] = True  # two 1 s turns, the first at 0.5 s
    stretches = noise_only_stretches(speech, 8000, min_duration=1.0)
    np.testing.assert_array_equal(stretches, [[24000, 48000], [64000, 100000]])
    assert len(noise_only_stretches(speech, 8000, min_duration=2.0)) == 1
    assert not speech[:8000].any()  # the caller's mask is left as it was


def test_turn_lengths_are_log_normal():
    """Crops of a long continuous source follow the requested log-normal law (quartiles)."""
    speech = np.array([[0, 120 * SAMPLE_RATE]])
    source = Source("x", "?", np.zeros(120 * SAMPLE_RATE, dtype=np.float32), speech)
    config = SimulationConfig(turn_median=3.84, turn_sigma=1.32, min_turn=0.5, max_turn=60.0)
    rng = np.random.default_rng(0)
    lengths = np.array([(last - first) / SAMPLE_RATE for first, last, _ in (crop(rng, source, config) for _ in range(4000))])
    q25, q50, q75 = np.percentile(lengths, [25, 50, 75])
    assert q50 == pytest.approx(3.84, rel=0.08)
    assert q25 == pytest.approx(3.84 * np.exp(-0.6745 * 1.32), rel=0.1)
    assert q75 == pytest.approx(3.84 * np.exp(0.6745 * 1.32), rel=0.1)
    assert lengths.min() >= 0.5 - 1e-6


@pytest.mark.parametrize("same", [0.1, 0.42])
def test_same_speaker_share(same):
    config = SimulationConfig(same_speaker=same)
    sequence = speaker_sequence(np.random.default_rng(1), 4, 20000, config)
    assert np.mean(sequence[1:] == sequence[:-1]) == pytest.approx(same, abs=0.02)


def test_mean_pause(sources):
    """Silence between consecutive turns of different speakers averages `mean_pause` (no overlap)."""
    config = SimulationConfig(mean_pause=1.0, overlap=0.0)
    speaker, turns = place_turns(np.random.default_rng(0), sources[:3], 600 * SAMPLE_RATE, config)
    ends = [start + last - first for _, start, (first, last, _) in turns]
    pauses = np.array([turns[k + 1][1] - ends[k] for k in range(len(turns) - 1)]) / SAMPLE_RATE
    assert np.all(pauses >= 0)
    assert pauses.mean() == pytest.approx(1.0, rel=0.15)


def test_channel_effects_keep_rate_and_length():
    rng = np.random.default_rng(0)
    white = (0.1 * rng.standard_normal(4 * SAMPLE_RATE)).astype(np.float32)
    narrow = telephone_band(white)
    assert narrow.shape == white.shape and narrow.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(narrow)) ** 2
    freqs = np.fft.rfftfreq(len(narrow), 1 / SAMPLE_RATE)
    assert spectrum[freqs > 4200].sum() < 1e-3 * spectrum[(freqs > 500) & (freqs < 3000)].sum()
    coded = mu_law_codec(white)
    assert coded.shape == white.shape
    # 8-bit mu-law: about 38 dB signal-to-quantisation noise on this signal
    assert 25 < energy_db(white) - energy_db(coded - white) < 50


@needs_shared
def test_written_realistic_recording_is_16k(tmp_path, sources):
    config = SimulationConfig.voxconverse(noise=[SHARED_NOISE / "noise"], rir=[SHARED_NOISE / "rir"], reverberation=1.0)
    recording = simulate_recording("r", sources[:4], 30.0, seed=0, config=config)
    write_recordings([recording], tmp_path, "x")
    info = sf.info(tmp_path / "wav" / "r.wav")
    assert info.samplerate == SAMPLE_RATE and info.frames == 30 * SAMPLE_RATE


@pytest.mark.skipif(not (SHARED / "speechocean762").is_dir(), reason="../shared/data not found")
def test_readspeech_sources_join_utterances():
    """A speechocean762 speaker's 20 utterances (Ogg Opus) make one source; identities keep their corpus prefix."""
    (so,) = readspeech_sources(SHARED, ["SO0001"])
    assert so.speaker == "SO0001" and so.sex == "M"
    assert len(so.speech) >= 20 and so.waveform.dtype == np.float32
    with pytest.raises(ValueError, match="ReadSpeech or Voices identity"):
        readspeech_sources(SHARED, ["0001"])


@needs_shared
def test_simulate_cli_noise_only(tmp_path, capsys):
    """`--noise-only` sets the share of pauses turned into noise-only stretches; bad values are refused."""
    from pyannote.database.util import load_rttm

    from pyannote_resnet50.cli.simulate import main

    common = ["--num-files", "1", "--duration", "90", "--preset", "voxconverse", "--seed", "4",
              "--noise", str(SHARED_NOISE / "noise")]
    silence = {}
    for share in (0.0, 0.5):
        out = tmp_path / str(share)
        assert main([str(out), "--noise-only", str(share)] + common) == 0
        (annotation,) = load_rttm(out / "simulated.rttm").values()
        silence[share] = 90 - annotation.get_timeline().support().duration()
    assert silence[0.5] > silence[0.0] + 10
    for bad in (["--noise-only", "1.5", "--preset", "voxconverse"], ["--noise-only", "0.2"]):
        with pytest.raises(SystemExit):
            main([str(tmp_path / "bad")] + bad)
        assert "--noise-only" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "commonvoice").is_dir(), reason="../shared/data not found")
def test_voices_sources_common_voice_and_arabic():
    """Voices identities of every corpus make sources: a Common Voice volunteer's clips and an
    Arabic speaker's recordings are joined, each into one source."""
    from pyannote_resnet50.database.registry import DATA_DIR

    test = (DATA_DIR / "voices" / "speakers.test.txt").read_text().split()
    cv = next(s for s in test if s.startswith("CV"))
    ar = next(s for s in test if s.startswith("AR"))
    sources = readspeech_sources(SHARED, [cv, ar])
    assert [s.speaker for s in sources] == [cv, ar]
    assert all(len(s.speech) >= 3 and s.waveform.dtype == np.float32 for s in sources)
    with pytest.raises(FileNotFoundError, match="no audio of speaker CV0000000000"):
        readspeech_sources(SHARED, ["CV0000000000"])


def _dominant_frequency(excerpt: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(excerpt))
    return float(np.fft.rfftfreq(len(excerpt), 1.0 / SAMPLE_RATE)[np.argmax(spectrum)])


def test_noise_only_music_and_colored_shares(tmp_path):
    """`noise_only_music` draws music files (named *music*) for that share of the noise-only
    stretches, `noise_only_colored` coloured Gaussian noise; by default every file is as likely."""
    from pyannote_resnet50.database.simulator.mixing import add_noise_only

    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    sf.write(tmp_path / "music__tone.flac", 0.3 * np.sin(2 * np.pi * 440 * t), SAMPLE_RATE)
    sf.write(tmp_path / "street__tone.flac", 0.3 * np.sin(2 * np.pi * 3000 * t), SAMPLE_RATE)
    stretches = np.array([[i * SAMPLE_RATE, i * SAMPLE_RATE + SAMPLE_RATE // 2] for i in range(0, 80, 2)])

    def frequencies(**kwargs):
        config = SimulationConfig.voxconverse(noise=[tmp_path], **kwargs)
        waveform = np.zeros(80 * SAMPLE_RATE, dtype=np.float32)
        add_noise_only(np.random.default_rng(0), waveform, stretches, 1.0, config.noise, config)
        return [_dominant_frequency(waveform[a + 800 : b - 800]) for a, b in stretches]

    def is_tone(f, hz):
        return abs(f - hz) < 10

    assert all(is_tone(f, 440) for f in frequencies(noise_only_music=1.0, noise_only_colored=0.0))
    assert all(is_tone(f, 3000) for f in frequencies(noise_only_music=0.0, noise_only_colored=0.0))
    colored = frequencies(noise_only_music=1.0, noise_only_colored=1.0)
    assert not any(is_tone(f, 440) or is_tone(f, 3000) for f in colored)
    mixed = frequencies(noise_only_music=0.75, noise_only_colored=0.0)
    assert 20 <= sum(is_tone(f, 440) for f in mixed) <= 38  # 30 expected of 40
    default = frequencies(colored_noise=0.0)  # uniform over the two files
    assert 10 <= sum(is_tone(f, 440) for f in default) <= 30


def test_simulate_cli_refuses_bad_noise_only_shares(tmp_path, capsys):
    from pyannote_resnet50.cli.simulate import main

    for bad in (["--noise-only-music", "1.5", "--preset", "voxconverse"], ["--noise-only-colored", "0.2"]):
        with pytest.raises(SystemExit):
            main([str(tmp_path / "bad")] + bad)
        assert bad[0] in capsys.readouterr().err

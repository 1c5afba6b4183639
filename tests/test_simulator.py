"""Simulator: exact RTTM, controlled overlap, determinism; Mini: reproducible and speaker-disjoint."""

import numpy as np
import pytest
from pyannote.core import Segment
from pyannote.database.util import load_rttm, load_uem

from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio
from pyannote_resnet50.database.mini import MINI_DIR, SUBSETS, build_mini, split_speakers
from pyannote_resnet50.database.simulator import (
    SimulationConfig,
    energy_vad,
    read_speakers_sex,
    rttm_lines,
    simulate_recording,
)


def frame_energy_db(waveform, hop=160, win=400):
    frames = np.lib.stride_tricks.sliding_window_view(waveform, win)[::hop]
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)


def test_energy_vad_finds_bursts():
    """Two tone bursts in near-silence: two regions, at the right place (to a frame)."""
    rng = np.random.default_rng(0)
    x = 1e-4 * rng.standard_normal(3 * SAMPLE_RATE).astype(np.float32)
    t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
    x[8000:16000] += 0.3 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    x[32000:40000] += 0.3 * np.sin(2 * np.pi * 330 * t).astype(np.float32)
    regions = energy_vad(x)
    assert regions.shape == (2, 2)
    np.testing.assert_allclose(regions, [[8000, 16000], [32000, 40000]], atol=400)
    # a pause shorter than min_silence is bridged
    assert len(energy_vad(x, min_silence=1.5)) == 1


def test_rttm_matches_audio(tiny_corpus):
    """Written audio is loud inside the RTTM's speech regions, quiet outside (SNR 30 dB)."""
    folder = tiny_corpus["dir"]
    annotations = load_rttm(folder / "test.rttm")
    uem = load_uem(folder / "test.uem")
    for recording in tiny_corpus["recordings"]:
        waveform = load_audio(folder / "wav" / f"{recording.uri}.wav")
        assert len(waveform) == len(recording.waveform) == int(12.0 * SAMPLE_RATE)
        assert uem[recording.uri].extent() == Segment(0, 12.0)
        annotation = annotations[recording.uri]
        speech = np.zeros(len(waveform), dtype=bool)
        for segment in annotation.get_timeline().support():
            speech[int(segment.start * SAMPLE_RATE) : int(segment.end * SAMPLE_RATE)] = True
        energy = frame_energy_db(waveform)
        inside = frame_energy_db(speech.astype(np.float32)) > -0.01  # frames fully inside speech
        outside = frame_energy_db(speech.astype(np.float32)) < -100  # frames fully outside
        assert inside.sum() > 100 and outside.sum() > 20
        assert np.mean(energy[inside]) > np.mean(energy[outside]) + 15
        # written RTTM == simulated annotation (3-decimal rounding)
        assert rttm_lines(annotation) == rttm_lines(recording.annotation)


def test_recording_structure(sources):
    """Labels spk00.. by first appearance, no self-overlap, at most 2 speakers at once, exact duration."""
    recording = simulate_recording("r", sources, 61.3, seed=3, config=SimulationConfig(overlap=0.1))
    annotation = recording.annotation
    assert annotation.labels() == ["spk00", "spk01", "spk02"]
    first = [annotation.label_timeline(label).extent().start for label in annotation.labels()]
    assert first == sorted(first)
    assert sorted(recording.speakers.values()) == sorted(s.speaker for s in sources)
    assert recording.duration == pytest.approx(61.3)
    for label in annotation.labels():
        timeline = annotation.label_timeline(label, copy=False)
        assert timeline.duration() == pytest.approx(timeline.support().duration())
    # at most two speakers talk at once: overlap with 3 speakers is empty
    overlap = annotation.get_overlap()
    for segment in overlap:
        assert len(annotation.crop(Segment(segment.middle - 1e-3, segment.middle + 1e-3)).labels()) == 2
    assert annotation.get_timeline().extent().end <= 61.3 - 0.5 + 1e-6


@pytest.mark.parametrize("target", [0.0, 0.04, 0.15])
def test_overlap_share(sources, target):
    """Overlapped speech / speech follows the requested share."""
    recording = simulate_recording("r", sources, 240, seed=1, config=SimulationConfig(overlap=target))
    annotation = recording.annotation
    share = annotation.get_overlap().duration() / annotation.get_timeline().support().duration()
    assert share == pytest.approx(target, abs=0.3 * target + 1e-9)


def test_determinism(sources):
    """Same seed: identical audio and RTTM; other seed: different."""
    a = simulate_recording("r", sources, 20, seed=7)
    b = simulate_recording("r", sources, 20, seed=7)
    c = simulate_recording("r", sources, 20, seed=8)
    np.testing.assert_array_equal(a.waveform, b.waveform)
    assert rttm_lines(a.annotation) == rttm_lines(b.annotation)
    assert rttm_lines(a.annotation) != rttm_lines(c.annotation)


def test_long_recording_is_fast(sources):
    """A 10-minute recording builds in seconds and is (nearly) filled with speech."""
    import time

    start = time.perf_counter()
    recording = simulate_recording("long", sources, 600, seed=0)
    assert time.perf_counter() - start < 20
    assert recording.duration == 600
    assert recording.annotation.get_timeline().support().duration() > 0.5 * 600


def test_single_speaker(sources):
    recording = simulate_recording("solo", sources[:1], 30, seed=0)
    assert recording.annotation.labels() == ["spk00"]
    assert recording.annotation.get_overlap().duration() == 0


def test_committed_mini_annotations_are_reproducible(tmp_path):
    """The committed Mini annotation files are exactly what the builder writes."""
    written = build_mini(tmp_path, write_audio=False)
    for name, path in written.items():
        assert path.read_text() == (MINI_DIR / path.relative_to(tmp_path)).read_text(), name
    assert not (tmp_path / "wav").exists()


def test_mini_speakers_disjoint():
    """LibriSpeech speakers of Mini subsets are disjoint, cover all 251, about 60/20/20 per sex."""
    speakers = {s: set((MINI_DIR / f"speakers.{s}.txt").read_text().split()) for s in SUBSETS}
    assert all(speakers[a].isdisjoint(speakers[b]) for a in SUBSETS for b in SUBSETS if a < b)
    assert sum(map(len, speakers.values())) == 251
    sex = read_speakers_sex()
    for x in ("F", "M"):
        n = {s: sum(sex[k] == x for k in speakers[s]) for s in SUBSETS}
        total = sum(n.values())
        assert n["train"] == pytest.approx(0.6 * total, abs=1)
        assert n["development"] == pytest.approx(0.2 * total, abs=1)
    # every speaker of a recording belongs to the recording's subset
    for subset in SUBSETS:
        rows = [line.split("\t") for line in (MINI_DIR / f"sources.{subset}.txt").read_text().splitlines()]
        assert {speaker for _, _, speaker in rows} <= speakers[subset]
        assert {uri for uri, _, _ in rows} == set((MINI_DIR / f"{subset}.lst").read_text().split())


def test_split_speakers_is_stratified():
    sex = {str(i): "F" if i % 3 else "M" for i in range(100)}
    split = split_speakers(sex, seed=1)
    assert sorted(sum(split.values(), []), key=int) == sorted(sex, key=int)
    assert [len(split[s]) for s in SUBSETS] == [60, 20, 20]
    assert split == split_speakers(sex, seed=1) != split_speakers(sex, seed=2)


def test_mini_protocol_statistics(mini_corpus, database_yml):
    """Mini looks like VoxConverse: 1-6 speakers per file, 30-90 s, a few % overlap."""
    from pyannote_resnet50.database.eda import protocol_stats

    stats = {s.subset: s for s in protocol_stats(mini_corpus, database_yml=database_yml)}
    assert {s: stats[s].num_files for s in SUBSETS} == {"train": 60, "development": 15, "test": 15}
    for s in stats.values():
        assert s.speakers.min() >= 1 and s.speakers.max() <= 6
        assert 30 <= s.duration.min() and s.duration.max() <= 90
        assert 0.01 < s.overlap_ratio < 0.07


def test_simulate_cli(tmp_path, capsys):
    """`pyannote-resnet50 simulate` writes wav, lst, rttm and uem that agree."""
    from pyannote_resnet50.cli.simulate import main

    assert main([str(tmp_path), "--num-files", "2", "--duration", "8", "--num-speakers", "2", "--seed", "1"]) == 0
    assert "2 recording(s) simulated" in capsys.readouterr().out
    uris = (tmp_path / "simulated.lst").read_text().split()
    assert uris == ["sim000", "sim001"]
    annotations = load_rttm(tmp_path / "simulated.rttm")
    for uri in uris:
        assert len(load_audio(tmp_path / "wav" / f"{uri}.wav")) == 8 * SAMPLE_RATE
        assert annotations[uri].labels() == ["spk00", "spk01"]


def test_mini_stamp_detects_stale_audio(tmp_path):
    """Audio built for other annotations (e.g. after a git pull) is reported as missing."""
    from pyannote_resnet50.database.mini import mini_audio_missing

    build_mini(tmp_path, num_files={"train": 2, "development": 1, "test": 1})
    assert mini_audio_missing(tmp_path) == []
    (tmp_path / "wav" / "dev000.wav").unlink()
    assert mini_audio_missing(tmp_path) == ["dev000"]
    rttm = tmp_path / "test.rttm"
    rttm.write_text(rttm.read_text().replace("spk00", "spk09", 1))
    assert mini_audio_missing(tmp_path) == ["trn000", "trn001", "dev000", "tst000"]

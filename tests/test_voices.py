"""Voices protocol (one identity per person across files and corpora), the Common Voice
reader, codec augmentation and Opus audio through the package's one loader."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pyannote_resnet50.augmentation import CODECS, Codec, codec_round_trip, real_world_augmentation
from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio
from pyannote_resnet50.database import get_protocol
from pyannote_resnet50.database.commonvoice import CommonVoiceError, read_commonvoice, speaker_id
from pyannote_resnet50.database.labels import scoped_label
from pyannote_resnet50.database.registry import DATA_DIR
from pyannote_resnet50.database.voices import PROTOCOL, commonvoice_speakers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SUBSETS = ("train", "development", "test")


def _speech(seconds: float, f0: float, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like signal (harmonics of `f0`, syllable-rate envelope)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    harmonics = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    noise = np.random.default_rng(seed).normal(0, 0.002, len(t))
    return (0.1 * harmonics * envelope + noise).astype(np.float32)


def _identities(name: str, subset: str, database_yml) -> dict:
    """{identity: set of uris} of a subset, identities as the embedding task scopes them."""
    identities = {}
    for file in getattr(get_protocol(name, database_yml), subset)():
        for label in file["annotation"].labels():
            identities.setdefault(scoped_label(file, label), set()).add(file["uri"])
    return identities


def test_voices_one_class_per_person_and_disjoint_subsets(database_yml):
    """Every recording of a person is one identity (across files and corpora: no file-scoped
    labels); no speaker is in two subsets; ReadSpeech's test lists are kept as they are."""
    identities = {subset: _identities(PROTOCOL, subset, database_yml) for subset in SUBSETS}
    for subset in SUBSETS:
        assert all(identity.startswith("Voices@") for identity in identities[subset])
        corpora = {identity.split("@")[1][:2] for identity in identities[subset]}
        assert corpora == {"LS", "SO", "CV", "AR"}, subset
    # a speechocean762 training speaker reads 20 sentences: one class, many files
    assert max(len(uris) for identity, uris in identities["train"].items() if "@SO" in identity) >= 20
    # several files per Common Voice and Arabic identity too
    assert max(len(uris) for identity, uris in identities["train"].items() if "@CV" in identity) >= 10
    assert min(len(uris) for identity, uris in identities["test"].items() if "@AR" in identity) >= 10
    for a, b in [("train", "development"), ("train", "test"), ("development", "test")]:
        assert not set(identities[a]) & set(identities[b]), (a, b)
    # Mini's development and test readers never train
    for subset in ("development", "test"):
        readers = (DATA_DIR / "mini" / f"speakers.{subset}.txt").read_text().split()
        assert not {f"Voices@LS{r}" for r in readers} & set(identities["train"])
    # before / after share their trials: ReadSpeech's test files are all in Voices' test
    readspeech = set((DATA_DIR / "readspeech" / "test.lst").read_text().split())
    voices = set((DATA_DIR / "voices" / "test.lst").read_text().split())
    assert readspeech < voices
    # the committed speaker lists say the same
    for subset in SUBSETS:
        listed = (DATA_DIR / "voices" / f"speakers.{subset}.txt").read_text().split()
        assert {f"Voices@{s}" for s in listed} == set(identities[subset])


def test_commonvoice_split_is_by_person():
    """A volunteer recorded in two locales is one speaker in one subset; heavy speakers train."""
    from pyannote_resnet50.database.commonvoice import Clip

    clips = []
    for s in range(40):
        n = 3 + s % 5
        clips += [("en", Clip(f"en{s}-{k}", f"sp{s}", Path(f"en{s}-{k}.opus"), "male" if s % 2 else "female"))
                  for k in range(n)]
    clips += [("fa", Clip(f"fa0-{k}", "sp0", Path(f"fa0-{k}.opus"))) for k in range(2)]
    clips += [("en", Clip(f"heavy-{k}", "heavy", Path(f"heavy-{k}.opus"))) for k in range(40)]
    split = commonvoice_speakers(clips)
    subsets = [subset for subset, speakers in split.items() if "sp0" in speakers]
    assert len(subsets) == 1
    assert "heavy" in split["train"]
    assert split["development"] and split["test"]
    assert sum(map(len, split.values())) == 41


def _miniature_release(folder: Path, header=("client_id", "path", "sentence", "gender")) -> Path:
    """A Common Voice release of two volunteers: clips/*.mp3 and validated.tsv."""
    (folder / "clips").mkdir(parents=True)
    rows = []
    for c, (client, f0) in enumerate([("a" * 128, 120.0), ("b" * 128, 210.0)]):
        for k in range(2):
            name = f"common_voice_xx_{c}{k}.mp3"
            sf.write(folder / "clips" / name, _speech(1.5, f0, seed=k), SAMPLE_RATE, format="MP3")
            rows.append({"client_id": client, "path": name, "sentence": "hello there", "gender": "female"})
    with open(folder / "validated.tsv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(header), delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_commonvoice_reader_official_layout(tmp_path):
    """validated.tsv + clips/*.mp3: one speaker per client_id, audio readable by the one loader."""
    clips = read_commonvoice(_miniature_release(tmp_path / "xx"))
    assert [c.uri for c in clips] == [f"common_voice_xx_{c}{k}" for c in range(2) for k in range(2)]
    assert [c.speaker for c in clips] == [speaker_id("a" * 128)] * 2 + [speaker_id("b" * 128)] * 2
    assert len(clips[0].speaker) == 10 and clips[0].gender == "female"
    waveform = load_audio(clips[0].path)
    assert waveform.dtype == np.float32 and abs(len(waveform) - 1.5 * SAMPLE_RATE) < 0.1 * SAMPLE_RATE


def test_commonvoice_reader_refuses_missing_client_id(tmp_path):
    """A validated.tsv without client_id is refused, naming the file and the column."""
    folder = _miniature_release(tmp_path / "xx", header=("path", "sentence", "gender"))
    with pytest.raises(CommonVoiceError, match=r"validated\.tsv has no 'client_id' column"):
        read_commonvoice(folder)
    with pytest.raises(CommonVoiceError, match="neither clips.tsv nor validated.tsv"):
        read_commonvoice(tmp_path)


@pytest.mark.skipif(not (SHARED / "commonvoice" / "en").is_dir(), reason="../shared/data not found")
def test_commonvoice_reader_shared_layout():
    """The shared copies (clips.tsv, speaker column, Opus) go through the same reader."""
    clips = read_commonvoice(SHARED / "commonvoice" / "en")
    assert len(clips) > 1000 and len({c.speaker for c in clips}) > 200
    assert all(c.path.suffix == ".opus" for c in clips)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_codec_round_trip(codec):
    """Each codec keeps length and rate, and changes the signal (lossy) without destroying it."""
    x = _speech(1.0, 150.0)
    y = codec_round_trip(x, codec, level=0.95)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    error = np.mean((y - x) ** 2) / np.mean(x**2)
    assert 1e-6 < error < 1.0


def test_codec_augmentation_on_a_batch():
    """Codec is a torch-audiomentations transform: it runs on a batch inside the task's augmentation."""
    batch = torch.from_numpy(np.stack([_speech(1.0, f0) for f0 in (100.0, 150.0, 200.0, 250.0)]))[:, None]
    out = Codec(p=1.0)(batch, sample_rate=SAMPLE_RATE).samples
    assert out.shape == batch.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, batch)
    composed = real_world_augmentation(p_reverb=0.0, p_band_limit=0.0, p_gain=0.0, p_colored_noise=0.0, p_codec=1.0)
    assert composed(batch, sample_rate=SAMPLE_RATE).samples.shape == batch.shape
    with pytest.raises(ValueError, match="unknown codec"):
        Codec(codecs=["aac"])


def test_opus_loads_through_the_one_loader(tmp_path):
    """Ogg Opus (the shared corpora's format) loads as 16 kHz mono float32."""
    path = tmp_path / "x.opus"
    sf.write(path, _speech(2.0, 180.0), SAMPLE_RATE, format="OGG", subtype="OPUS")
    waveform = load_audio(path)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 2 * SAMPLE_RATE) <= 0.02 * SAMPLE_RATE
    if (SHARED / "speechocean762").is_dir():
        shared = sorted((SHARED / "speechocean762" / "0001").glob("*.opus"))[0]
        assert len(load_audio(shared)) > SAMPLE_RATE

"""Conversations corpus: simulated conversations of held-out Common Voice speakers."""

from pathlib import Path

import pytest

from pyannote_resnet50.database.conversations import (
    COMMON_VOICE,
    CONVERSATIONS_DIR,
    LONG,
    PROTOCOL,
    SUBSETS,
    build_conversations,
    conversations_audio_missing,
    ensure_conversations,
)
from pyannote_resnet50.database.registry import DATA_DIR

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED / "commonvoice").is_dir() or not (SHARED / "noise").is_dir(),
    reason=f"{SHARED} (Common Voice audio and noise) not found: the Conversations corpus cannot be simulated",
)


def _voices_speakers(subset: str) -> set:
    return set((DATA_DIR / "voices" / f"speakers.{subset}.txt").read_text().split())


@pytest.mark.parametrize("corpus", [COMMON_VOICE, LONG], ids=["CommonVoice", "Long"])
def test_conversations_speakers_are_held_out(database_yml, corpus):
    """Every speaker is a speaker of the corpus's identity prefixes (Common Voice; every corpus
    for Long) of the Voices list of its subset, never a Voices training speaker; development and
    test share no speaker; no train subset; durations and speaker counts in the corpus's ranges."""
    from pyannote.database.util import load_rttm, load_uem

    from pyannote_resnet50.database import get_protocol
    from pyannote_resnet50.database.registry import protocol_subsets

    directory = corpus.directory
    speakers = {}
    for subset in SUBSETS:
        rows = [line.split("\t") for line in (directory / f"sources.{subset}.txt").read_text().splitlines()]
        uris = (directory / f"{subset}.lst").read_text().split()
        assert {uri for uri, _, _ in rows} == set(uris) and len(uris) == corpus.num_files[subset]
        speakers[subset] = {speaker for _, _, speaker in rows}
        assert all(s.startswith(corpus.corpora) for s in speakers[subset]), subset
        assert speakers[subset] <= _voices_speakers(subset), subset
        assert not speakers[subset] & _voices_speakers("train"), subset
        uems, rttms = load_uem(directory / f"{subset}.uem"), load_rttm(directory / f"{subset}.rttm")
        for uri in uris:
            assert corpus.duration[0] <= uems[uri].extent().end <= corpus.duration[1] + 0.01, uri
            low, high = corpus.num_speakers or (1, 6)
            assert low <= len(rttms[uri].labels()) <= high, uri
    assert not speakers["development"] & speakers["test"]
    assert protocol_subsets(get_protocol(corpus.protocol, database_yml)) == ["development", "test"]


@needs_shared
def test_committed_conversations_annotations_are_reproducible(tmp_path):
    """The committed annotation files are exactly what the builder writes."""
    written = build_conversations(SHARED, tmp_path, write_audio=False)
    assert len(written) == 8
    for name, path in written.items():
        assert path.read_text() == (CONVERSATIONS_DIR / path.name).read_text(), name
    assert not (tmp_path / "wav").exists()


@needs_shared
def test_conversations_stamp_detects_stale_audio(tmp_path):
    """Audio built for other annotations (e.g. after a git pull) is reported as missing."""
    build_conversations(SHARED, tmp_path, num_files={"development": 1, "test": 1})
    assert conversations_audio_missing(tmp_path) == []
    (tmp_path / "wav" / "cvtst000.wav").unlink()
    assert conversations_audio_missing(tmp_path) == ["cvtst000"]
    rttm = tmp_path / "development.rttm"
    rttm.write_text(rttm.read_text().replace("spk00", "spk09", 1))
    assert conversations_audio_missing(tmp_path) == ["cvdev000", "cvtst000"]


@needs_shared
def test_committed_long_conversations_are_reproducible(tmp_path):
    """The first recording of each Long subset, rebuilt (annotations only), is the committed one."""
    written = build_conversations(SHARED, tmp_path, num_files={"development": 1, "test": 1}, write_audio=False,
                                  corpus=LONG)
    for subset in SUBSETS:
        (uri,) = written[f"{subset}.lst"].read_text().split()
        assert uri == f"{LONG.prefix[subset]}000"
        committed = [line for line in (LONG.directory / f"{subset}.rttm").read_text().splitlines()
                     if line.split()[1] == uri]
        assert written[f"{subset}.rttm"].read_text().splitlines() == committed


def test_ensure_conversations_skips_without_shared_data(tmp_path, capsys):
    """Without audio nor shared data, benchmarks are told to skip the corpus (and why)."""
    for subset in SUBSETS:
        (tmp_path / f"{subset}.lst").write_text((CONVERSATIONS_DIR / f"{subset}.lst").read_text())
    assert ensure_conversations(tmp_path / "absent", output=tmp_path) is False
    assert f"{PROTOCOL}: skipped" in capsys.readouterr().out
    assert not (tmp_path / "wav").exists()


def test_ensure_long_conversations_names_the_missing_corpora(tmp_path, capsys):
    """The long recordings mix four corpora: a shared folder with Common Voice alone is not enough to
    build them, and the skip message names what is missing (it looked for commonvoice/ only)."""
    output = tmp_path / "long"
    output.mkdir()
    for subset in SUBSETS:
        (output / f"{subset}.lst").write_text((LONG.directory / f"{subset}.lst").read_text())
    (tmp_path / "shared" / "commonvoice").mkdir(parents=True)
    assert ensure_conversations(tmp_path / "shared", output=output, corpus=LONG) is False
    out = capsys.readouterr().out
    assert f"{LONG.protocol}: skipped" in out
    assert "librispeech, speechocean762, arabic-speech-commands" in out and "commonvoice" not in out.split("under")[0]


def test_conversations_protocol_finds_its_audio(conversations_corpus, database_yml):
    """The protocol's audio (built by the fixture when missing) lasts as long as each UEM."""
    import soundfile as sf

    from pyannote_resnet50.database import get_protocol

    protocol = get_protocol(conversations_corpus, database_yml)
    for subset in SUBSETS:
        files = list(getattr(protocol, subset)())
        assert len(files) == COMMON_VOICE.num_files[subset]
        for file in files:
            assert sf.info(file["audio"]).duration == pytest.approx(file["annotated"].duration(), abs=0.01)
            assert 1 <= len(file["annotation"].labels()) <= 6

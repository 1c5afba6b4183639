"""Shared fixtures: paths, the Mini corpus, tiny simulated corpora and hand-made databases."""

import shutil
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional

import pytest

from pyannote_resnet50.database.registry import DATABASE_YML, PACKAGE_DATABASE_YML

REPO = Path(__file__).resolve().parents[1]


def console_script(name: str) -> str:
    """Path of an installed command (e.g. ``pyannote-audio-train``): on PATH, or beside this
    interpreter (a virtual environment that was not activated)"""
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def load_benchmark(name: str):
    """The module of ``recipes/benchmarks/{name}.py`` (scripts, not a package)"""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "recipes" / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def annotation_of(uri: str, segments):
    """pyannote.core Annotation of `uri` from (start, end, label) triples, one track each"""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for k, (start, end, label) in enumerate(segments):
        annotation[Segment(start, end), k] = label
    return annotation


def write_database_yml(folder: Path, database: str, protocol: str, annotation: str) -> Path:
    """Write ``folder/database.yml``: protocol ``{database}.SpeakerDiarization.{protocol}``.

    Its "test" subset reads ``test.lst``, `annotation` and ``test.uem``, its audio
    ``wav/{uri}.wav``; the package's protocols are required.
    """
    yml = folder / "database.yml"
    yml.write_text(
        textwrap.dedent(
            f"""\
            Requirements:
              - {PACKAGE_DATABASE_YML}
            Databases:
              {database}: wav/{{uri}}.wav
            Protocols:
              {database}:
                SpeakerDiarization:
                  {protocol}:
                    scope: file
                    test:
                      uri: test.lst
                      annotation: {annotation}
                      annotated: test.uem
            """
        )
    )
    return yml


def write_shipped_config(path: Path, local_speaker_check: str, check_params: Optional[Dict] = None,
                         uniform_window: float = 2.5, embedding: Optional[str] = None,
                         clustering: Optional[Dict] = None) -> Path:
    """Write at `path` the shipped config.yaml with another ``local_speaker_check`` (as
    ``pyannote-resnet50 optimize`` writes it): checkpoints by absolute path, the shipped
    segmentation and clustering hyper-parameters, plus `check_params` (e.g.
    ``{"local_speakers": {...}}``) in place of the shipped check's; `embedding` (a checkpoint
    of the shipped folder) and `clustering` (hyper-parameters) replace the shipped ones.
    """
    import yaml

    import pyannote_resnet50
    from pyannote_resnet50.pipelines.local_speakers import WINDOWED_CHECKS

    shipped = yaml.safe_load(open(pyannote_resnet50.DEFAULT_PIPELINE))
    checkpoints = Path(pyannote_resnet50.DEFAULT_PIPELINE).parent
    params = {key: value for key, value in shipped["pipeline"]["params"].items()
              if key not in ("local_speaker_check", "uniform_window")}
    params["embedding"] = embedding or params["embedding"]
    params.update({key: str(checkpoints / params[key]) for key in ("segmentation", "embedding")})
    if local_speaker_check != "none":
        params["local_speaker_check"] = local_speaker_check
    if local_speaker_check in WINDOWED_CHECKS:
        params["uniform_window"] = uniform_window
    config = dict(shipped)
    config["pipeline"] = {"name": shipped["pipeline"]["name"], "params": params}
    config["params"] = {"segmentation": shipped["params"]["segmentation"],
                        "clustering": {**shipped["params"]["clustering"], **(clustering or {})},
                        **(check_params or {})}
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Root of the source checkout."""
    return REPO


@pytest.fixture(scope="session")
def database_yml() -> Path:
    """The checkout's top-level database.yml."""
    return DATABASE_YML or REPO / "database.yml"


@pytest.fixture(scope="session")
def mini_corpus() -> str:
    """Name of the Mini protocol, its audio built once (a few seconds) if missing or stale."""
    from pyannote_resnet50.database.mini import PROTOCOL, build_mini, mini_audio_missing

    if mini_audio_missing():
        build_mini()
    return PROTOCOL


@pytest.fixture(scope="session")
def conversations_corpus() -> str:
    """Name of the Conversations protocol, its audio built once (seconds) from ../shared/data
    if missing or stale; the test is skipped when it cannot be built."""
    from pyannote_resnet50.database.conversations import PROTOCOL, ensure_conversations

    if not ensure_conversations():
        pytest.skip(f"{PROTOCOL}: no audio, and ../shared/data is absent to build it")
    return PROTOCOL


@pytest.fixture(scope="session")
def sources():
    """Three LibriSpeech sources (one F, one M, one more) of the shipped utterances."""
    from pyannote_resnet50.database.simulator import load_sources

    return load_sources(speakers=["103", "1034", "1040"])


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, sources) -> Dict:
    """Two simulated recordings of 12 s (SNR 30 dB) written as a pyannote database.

    Returns
    -------
    corpus : dict
        "dir" (folder), "database_yml", "protocol" (``Tiny.SpeakerDiarization.Sim``),
        "recordings" (list of Recording).
    """
    from pyannote_resnet50.database.simulator import SimulationConfig, simulate_recording, write_recordings

    folder = tmp_path_factory.mktemp("tiny")
    config = SimulationConfig(snr=(30.0, 30.0), overlap=0.1)
    recordings = [
        simulate_recording(f"tiny{i}", sources[: 2 + i], 12.0, seed=i, config=config) for i in range(2)
    ]
    write_recordings(recordings, folder, "test")
    yml = write_database_yml(folder, "Tiny", "Sim", "test.rttm")
    return {"dir": folder, "database_yml": yml, "protocol": "Tiny.SpeakerDiarization.Sim", "recordings": recordings}


@pytest.fixture
def make_database(tmp_path, restore_registry):
    """Factory writing a one-protocol database in `tmp_path`.

    Call it with the text of the uri list, of the RTTM and of the UEM; returns the path
    of a database.yml defining ``Custom.SpeakerDiarization.<name>`` (subset "test").
    With ``per_uri=True`` the annotation entry is the template ``rttm/{uri}.rttm`` and
    `rttm` is a {uri: text} dict.
    """

    def make(lst: str, rttm, uem: Optional[str] = None, name: str = "Broken", per_uri: bool = False) -> Path:
        (tmp_path / "test.lst").write_text(lst)
        if per_uri:
            (tmp_path / "rttm").mkdir(exist_ok=True)
            for uri, text in rttm.items():
                (tmp_path / "rttm" / f"{uri}.rttm").write_text(text)
            annotation = "rttm/{uri}.rttm"
        else:
            (tmp_path / "test.rttm").write_text(rttm)
            annotation = "test.rttm"
        if uem is None:
            uem = "".join(f"{uri} NA 0.000 60.000\n" for uri in lst.split())
        (tmp_path / "test.uem").write_text(uem)
        yml = write_database_yml(tmp_path, "Custom", name, annotation)
        return yml

    return make


@pytest.fixture
def restore_registry():
    """Restore the audio sources (and database_yml) of pyannote.database's global registry
    after a test loading a custom yml."""
    from pyannote.database import registry

    sources = dict(registry.sources)
    database_yml = getattr(registry, "database_yml", None)
    yield registry
    registry.sources.clear()
    registry.sources.update(sources)
    registry.database_yml = database_yml

"""Uris name output files through one function: none may write outside the output folder.

`apply`, `optimize --cache`, `diarize` and the plots all refuse a uri that is absolute or
contains `..` or a path separator, before any work (exit code 2, nothing written).
"""

import shutil

import pytest
import torch
from pyannote.audio.sample import SAMPLE_FILE
from pyannote.core import Annotation, Segment

from conftest import write_database_yml
from pyannote_resnet50.cli import main as cli
from pyannote_resnet50.core.batch import Job, process
from pyannote_resnet50.core.uri import check_uri, check_uris, output_path

torch.set_num_threads(1)

ESCAPING = "../../escaped/escapee"


@pytest.mark.parametrize("uri", [ESCAPING, "..", "a..b", ".", "/etc/passwd", "sub/file", "back\\slash",
                                 "C:evil", "nul\0byte", "", None, 3])
def test_refused_uris(uri, tmp_path):
    with pytest.raises(ValueError, match="uri"):
        output_path(tmp_path, uri, ".rttm")


@pytest.mark.parametrize("uri", ["dev00", "EN2001a.Mix-Headset", "tst_000", ".hidden", "a.b.c", "spk@1"])
def test_plain_uris_stay_in_the_folder(uri, tmp_path):
    path = output_path(tmp_path, uri, ".rttm")
    assert path.parent == tmp_path and path.name == f"{uri}.rttm" and check_uri(uri) == uri


def test_all_refused_uris_are_listed():
    with pytest.raises(ValueError) as error:
        check_uris(["ok", "../a", "/b"])
    assert "2 uris" in str(error.value) and "'../a'" in str(error.value) and "'/b'" in str(error.value)
    check_uris(["ok", "fine"])  # nothing to refuse


@pytest.fixture
def escaping_protocol(tmp_path, restore_registry):
    """A protocol whose uri list holds ESCAPING (its audio is a copy of pyannote's sample)"""
    folder = tmp_path / "a" / "b" / "db"
    (folder / "wav").mkdir(parents=True)
    shutil.copy(SAMPLE_FILE["audio"], folder / "wav" / "fine.wav")
    (folder / "test.lst").write_text(f"fine\n{ESCAPING}\n")
    (folder / "test.rttm").write_text("".join(f"SPEAKER {uri} 1 0.000 5.000 <NA> <NA> A <NA> <NA>\n"
                                              for uri in ("fine", ESCAPING)))
    (folder / "test.uem").write_text(f"fine NA 0.000 30.000\n{ESCAPING} NA 0.000 30.000\n")
    return write_database_yml(folder, "Escape", "Uris", "test.rttm")


def _written(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_apply_refuses_escaping_uri(escaping_protocol, tmp_path, capsys):
    before = _written(tmp_path)
    output = tmp_path / "a" / "b" / "out" / "hyp.rttm"
    assert cli(["apply", "default", "Escape.SpeakerDiarization.Uris", "--database", str(escaping_protocol),
                "--output", str(output)]) == 2
    assert f"uri '{ESCAPING}' contains a path separator" in capsys.readouterr().err
    assert _written(tmp_path) == before  # neither the escaping file nor anything else


def test_optimize_cache_refuses_escaping_uri(escaping_protocol, tmp_path, capsys):
    before = _written(tmp_path)
    assert cli(["optimize", "Escape.SpeakerDiarization.Uris", str(tmp_path / "a" / "b" / "opt"), "--subset", "test",
                "--cache", "--database", str(escaping_protocol), "--trials", "1"]) == 2
    assert f"uri '{ESCAPING}'" in capsys.readouterr().err
    assert _written(tmp_path) == before


def test_diarize_refuses_uri_with_dots(tmp_path, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    shutil.copy(SAMPLE_FILE["audio"], audio / "take..2.wav")
    out = tmp_path / "out"
    assert cli(["diarize", str(audio), "--output-dir", str(out)]) == 2
    assert "uri 'take..2' contains '..'" in capsys.readouterr().err
    assert not out.exists()


class _Fixed:
    """A pipeline answering one speaker turn, whatever the file"""

    def __call__(self, file, **options):
        annotation = Annotation(uri=file["uri"])
        annotation[Segment(0.0, 1.0)] = "A"
        return annotation


def test_plots_and_rttms_refuse_escaping_uri(tmp_path):
    out = tmp_path / "a" / "out"
    job = Job(uri="../escapee", source="test", file={"uri": "../escapee", "audio": str(SAMPLE_FILE["audio"])})
    with pytest.raises(ValueError, match="path separator"):
        process(job, _Fixed(), out, plot=True)
    assert _written(tmp_path) == []
    # a plain uri: both outputs inside the folder
    job = Job(uri="fine", source="test", file={"uri": "fine", "audio": str(SAMPLE_FILE["audio"])})
    process(job, _Fixed(), out, plot=True)
    assert _written(tmp_path) == ["a/out/fine.png", "a/out/fine.rttm"]

"""Protocols load through pyannote_resnet50 and through pyannote.database; clear errors on bad input."""

import pytest
from pyannote.core import Annotation, Segment, Timeline

from pyannote_resnet50.database import get_protocol
from pyannote_resnet50.database.labels import scoped_annotation, scoped_label
from pyannote_resnet50.database.registry import DATA_DIR
from pyannote_resnet50.database.registry import validate_protocol

SUBSETS = {
    "VoxConverse.SpeakerDiarization.Split": {"train": "voxconverse/split/train.lst",
                                             "development": "voxconverse/split/development.lst",
                                             "test": "voxconverse/test.lst"},
    "VoxConverse.SpeakerDiarization.Full": {"train": "voxconverse/dev.lst", "test": "voxconverse/test.lst"},
    "Mini.SpeakerDiarization.Simulated": {s: f"mini/{s}.lst" for s in ("train", "development", "test")},
    "AMI.SpeakerDiarization.Debug": {"train": "ami/train.lst", "development": "ami/development.lst",
                                     "test": "ami/all.lst"},
}
CASES = [(protocol, subset) for protocol, subsets in SUBSETS.items() for subset in subsets]


@pytest.mark.parametrize("name,subset", CASES, ids=[f"{p.split('.')[0]}.{p.split('.')[-1]}-{s}" for p, s in CASES])
def test_subset_loads_both_ways(name, subset, database_yml, restore_registry):
    """Every subset loads through get_protocol and through pyannote.database's registry, identically."""
    expected = (DATA_DIR / SUBSETS[name][subset]).read_text().split()
    ours = list(getattr(get_protocol(name, database_yml), subset)())
    assert [f["uri"] for f in ours] == expected

    registry = restore_registry
    registry.load_database(database_yml)
    theirs = list(getattr(registry.get_protocol(name), subset)())
    assert [f["uri"] for f in theirs] == expected

    # annotations are loaded lazily: check a few files per subset (the whole of each
    # subset is checked by test_validate_every_protocol and, for VoxConverse dev, test_eda)
    for a, b in list(zip(ours, theirs))[:: max(1, len(ours) // 4)]:
        annotation, annotated = a["annotation"], a["annotated"]
        assert isinstance(annotation, Annotation) and annotation.labels(), a["uri"]
        assert isinstance(annotated, Timeline) and annotated.duration() > 0
        assert annotation == b["annotation"]
        # every turn lies inside the evaluated region (UEM), up to RTTM rounding
        assert annotation.get_timeline().extent().end <= annotated.extent().end + 1e-3
        assert a["scope"] == "file"


def test_validate_every_protocol(database_yml):
    """The shipped annotation files pass validation, with the expected numbers of files."""
    for name, subsets in SUBSETS.items():
        counts = validate_protocol(name, database_yml)
        assert {s: c["files"] for s, c in counts.items()} == {
            s: len((DATA_DIR / lst).read_text().split()) for s, lst in subsets.items()
        }
        assert all(c["turns"] >= c["files"] for c in counts.values())


def test_file_scoped_labels(database_yml):
    """`spk00` of two files gives two identities."""
    files = [f for f in get_protocol("VoxConverse.SpeakerDiarization.Full", database_yml).train()][:2]
    assert all("spk00" in f["annotation"].labels() for f in files)
    first, second = (scoped_label(f, "spk00") for f in files)
    assert first == f"{files[0]['uri']}@spk00" and first != second
    labels = [set(scoped_annotation(f).labels()) for f in files]
    assert labels[0].isdisjoint(labels[1])
    assert len(labels[0]) == len(files[0]["annotation"].labels())
    # other scopes
    assert scoped_label({"uri": "a", "scope": "global"}, "spk00") == "spk00"
    assert scoped_label({"uri": "a", "scope": "database", "database": "Mini"}, "spk00") == "Mini@spk00"
    with pytest.raises(ValueError, match="unknown label scope"):
        scoped_label({"uri": "a", "scope": "planet"}, "spk00")


GOOD = "SPEAKER f1 1 0.000 1.500 <NA> <NA> spk00 <NA> <NA>\n"


def test_malformed_rttm_line(make_database):
    """A malformed line: the error names the file, the line number and what is wrong."""
    rttm = GOOD + "SPEAKER f1 1 2.000 abc <NA> <NA> spk01 <NA> <NA>\n"
    yml = make_database("f1\n", rttm, name="BadDuration")
    with pytest.raises(ValueError, match=r"test\.rttm, line 2: duration \(field 5\) 'abc' is not a number"):
        validate_protocol("Custom.SpeakerDiarization.BadDuration", yml)

    yml = make_database("f1\n", GOOD + GOOD + "SPEAKER f1 1 2.0 1.0 spk01\n", name="BadFields")
    with pytest.raises(ValueError, match=r"test\.rttm, line 3: expected 10 .* found 6"):
        validate_protocol("Custom.SpeakerDiarization.BadFields", yml)

    yml = make_database("f1\n", "SPEAKER f1 1 -1.0 1.0 <NA> <NA> spk00 <NA> <NA>\n", name="Negative")
    with pytest.raises(ValueError, match=r"line 1: start time \(field 4\) '-1.0' should be a finite number >= 0"):
        validate_protocol("Custom.SpeakerDiarization.Negative", yml)


def test_unknown_uri(make_database, tmp_path):
    """A listed uri without annotation: the error names the uri and the file."""
    yml = make_database("f1\nghost\n", GOOD, name="Ghost")
    with pytest.raises(ValueError, match=rf"uri 'ghost' \(listed in .*test\.lst\) has no SPEAKER turn in {tmp_path}/test\.rttm"):
        validate_protocol("Custom.SpeakerDiarization.Ghost", yml)


def test_unknown_uri_per_file_template(make_database, tmp_path):
    """With ``{uri}.rttm`` templates, the error names the uri and the missing file."""
    yml = make_database("f1\nghost\n", {"f1": GOOD}, name="GhostTemplate", per_uri=True)
    with pytest.raises(ValueError, match=r"uri 'ghost' .* has no annotation: 'rttm/ghost\.rttm' does not exist"):
        validate_protocol("Custom.SpeakerDiarization.GhostTemplate", yml)
    # a per-uri file about another uri
    yml = make_database("f1\n", {"f1": GOOD.replace("f1", "f2")}, name="WrongUri", per_uri=True)
    with pytest.raises(ValueError, match=r"f1\.rttm, line 1: uri 'f2' in the annotation file of uri 'f1'"):
        validate_protocol("Custom.SpeakerDiarization.WrongUri", yml)


def test_missing_uem_and_unknown_protocol(make_database):
    yml = make_database("f1\n", GOOD, uem="other NA 0.000 10.000\n", name="NoUem")
    with pytest.raises(ValueError, match=r"uri 'f1' .* has no line in UEM file .*test\.uem"):
        validate_protocol("Custom.SpeakerDiarization.NoUem", yml)
    with pytest.raises(ValueError, match="unknown protocol 'Custom.SpeakerDiarization.Nope'"):
        validate_protocol("Custom.SpeakerDiarization.Nope", yml)


def test_missing_voxconverse_audio(tmp_path, restore_registry):
    """Missing VoxConverse audio: the AudioFinder error names the searched path and the yml line."""
    from pyannote_resnet50.database.registry import PACKAGE_DATABASE_YML

    yml = tmp_path / "database.yml"
    yml.write_text(f"Requirements:\n  - {PACKAGE_DATABASE_YML}\nDatabases:\n  VoxConverse: audio/**/{{uri}}.wav\n")
    file = next(iter(get_protocol("VoxConverse.SpeakerDiarization.Split", yml).development()))
    with pytest.raises(FileNotFoundError) as error:
        file["audio"]
    message = str(error.value)
    assert f"{tmp_path}/audio/**/{{uri}}.wav" in message or f"{tmp_path}/audio" in message
    assert f"'Databases: VoxConverse:' line of {yml}" in message
    assert file["uri"] in message and "voxconverse_dev_wav.zip" in message


def test_mini_audio(mini_corpus, database_yml):
    """The built Mini audio matches its UEM (whole file evaluated)."""
    from pyannote_resnet50.core.io import get_duration

    file = next(iter(get_protocol(mini_corpus, database_yml).development()))
    assert get_duration(file["audio"]) == pytest.approx(file["annotated"].extent().end, abs=1e-3)
    assert file["annotated"].extent().start == 0.0
    assert file["annotation"].get_timeline().extent() in Segment(0, file["annotated"].extent().end + 1e-3)

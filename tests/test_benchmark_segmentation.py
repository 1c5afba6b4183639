"""The segmentation benchmark's scoring: detection components and the share of short missed stretches."""

import pytest
from pyannote.core import Segment, Timeline

from conftest import annotation_of as _annotation, load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("segmentation")


def test_short_missed_stretches(benchmark):
    """A 1 s gap inside a reference turn is a short miss; a 5 s missed tail is not; the UEM bounds both."""
    files = [
        {"uri": "a", "audio": None, "annotation": _annotation("a", [(0, 10, "A")]),
         "annotated": Timeline([Segment(0, 10)], uri="a")},
        {"uri": "b", "audio": None, "annotation": _annotation("b", [(0, 10, "A"), (10, 30, "B")]),
         "annotated": Timeline([Segment(0, 10)], uri="b")},  # B lies outside the UEM
    ]
    outputs = {"a": _annotation("a", [(0, 4, "x"), (5, 10, "x")]), "b": _annotation("b", [(0, 5, "y")])}

    def pipeline(file):
        return outputs[file["uri"]]

    row = benchmark.score(pipeline, files)
    assert row["miss"] == pytest.approx(100 * 6 / 20)  # 1 s of a, 5 s of b, over 20 s of speech
    assert row["false alarm"] == 0.0
    assert row["short miss"] == pytest.approx(100 * 1 / 6)

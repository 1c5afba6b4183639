"""The DER decomposition benchmark: its scoring gives the oracle twins the reference, its parts add up."""

import pytest
from pyannote.core import Segment, Timeline

from conftest import annotation_of as _annotation, load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("decomposition")


def test_parts_of_the_der(benchmark, tmp_path):
    """10 s of A then 10 s of B, scored inside a UEM that leaves the last 5 s out; the output misses 2 s
    of A, gives 3 s of B to A's speaker, and its speech past the UEM (15-16 s) is not counted"""
    reference = _annotation("a", [(0, 10, "A"), (10, 20, "B")])
    file = {"uri": "a", "audio": str(tmp_path / "a.wav"), "annotation": reference,
            "annotated": Timeline([Segment(0, 15)], uri="a")}
    seen = []

    def pipeline(inputs):
        seen.append(inputs)
        return _annotation("a", [(2, 13, "x"), (13, 16, "y")])

    parts = benchmark.der_parts(pipeline, [file])
    assert seen[0]["annotation"] is reference  # what OracleClustering and the oracle segmentation read
    assert parts["missed detection"] == pytest.approx(100 * 2 / 15)
    assert parts["false alarm"] == pytest.approx(0.0)
    assert parts["confusion"] == pytest.approx(100 * 3 / 15)  # 10-13 s: B given to A's speaker
    assert parts["DER"] == pytest.approx(sum(parts[c] for c in benchmark.COMPONENTS))

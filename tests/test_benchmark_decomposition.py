"""The scoring of the diarization benchmarks: the oracle twins get the reference, the DER's parts add up."""

import pytest
from pyannote.core import Segment, Timeline

from conftest import annotation_of as _annotation, load_benchmark
from pyannote_resnet50.core.evaluation import DER_COMPONENTS, diarization_scores
from pyannote_resnet50.database.benchmarks import BENCHMARK_PROTOCOLS, short_name


@pytest.mark.parametrize("with_reference", [True, False])
def test_parts_of_the_der(tmp_path, with_reference):
    """10 s of A then 10 s of B, scored inside a UEM that leaves the last 5 s out; the output misses 2 s
    of A, gives 3 s of B to A's speaker, and its speech past the UEM (15-16 s) is not counted"""
    reference = _annotation("a", [(0, 10, "A"), (10, 20, "B")])
    file = {"uri": "a", "audio": str(tmp_path / "a.wav"), "annotation": reference,
            "annotated": Timeline([Segment(0, 15)], uri="a")}
    seen = []

    def pipeline(inputs):
        seen.append(inputs)
        return _annotation("a", [(2, 13, "x"), (13, 16, "y")])

    parts = diarization_scores(pipeline, [file], with_reference=with_reference, jer=True)
    if with_reference:  # what OracleClustering and the oracle segmentation read
        assert seen[0]["annotation"] is reference
    else:  # a real system never sees it
        assert "annotation" not in seen[0]
    assert parts["missed detection"] == pytest.approx(100 * 2 / 15)
    assert parts["false alarm"] == pytest.approx(0.0)
    assert parts["confusion"] == pytest.approx(100 * 3 / 15)  # 10-13 s: B given to A's speaker
    assert parts["DER"] == pytest.approx(sum(parts[c] for c in DER_COMPONENTS))
    assert parts["per file"] == {"a": pytest.approx(parts["DER"])}
    assert 0.0 < parts["JER"] <= 100.0


def test_benchmark_tables_name_their_sets():
    assert [short_name(p) for p in BENCHMARK_PROTOCOLS] == ["Mini", "AMI", "Conversations", "Conversations Long"]


def test_decomposition_rows_make_the_twins_oracle():
    """The rows of the decomposition benchmark, for a pipeline with a local-speaker check"""
    benchmark = load_benchmark("decomposition")

    class Pipeline:
        local_speaker_check = "reassign_windows"

        def oracle_twin(self, **kwargs):
            return kwargs

    rows = benchmark.systems(Pipeline())
    assert [name for name, _ in rows] == ["pipeline", "oracle clustering", "oracle clustering + check",
                                          "oracle segmentation", "oracle segmentation + clustering"]
    assert rows[1][1] == {"segmentation": False, "clustering": True, "local_speaker_check": "none"}
    assert rows[4][1] == {"clustering": True, "local_speaker_check": "none"}

"""Oracle clustering: each local speaker goes to the reference speaker it matches, in every chunk
the segmentation slid (the last one padded); the pipeline's oracle twins (issue 22: where the DER
comes from, recipes/benchmarks/decomposition.py)."""

import numpy as np
import pytest
from pyannote.core import Annotation, Segment, SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.pipelines.clustering import CLUSTERING_METHODS, OracleClustering

FRAMES = SlidingWindow(start=0.0, duration=0.1, step=0.1)
CHUNKS = SlidingWindow(start=0.0, duration=1.0, step=0.5)


def reference() -> Annotation:
    """A speaks up to 1.2 s, B from 1.2 s to the end (2.2 s); C speaks 0.1 s that no local speaker covers"""
    annotation = Annotation(uri="toy")
    annotation[Segment(0.0, 1.2)] = "A"
    annotation[Segment(1.2, 2.2)] = "B"
    annotation[Segment(0.0, 0.1), "c"] = "C"
    return annotation


def segmentation(swap_chunk: int = 2):
    """4 chunks of 1 s every 0.5 s over a 2.2 s file (the last one ends at 2.5 s, past the end, as
    the pipeline's segmentation slides them); local speaker 0 follows A and 1 follows B, but in
    `swap_chunk` where they are swapped. C is covered by none (its frame is left silent)."""
    num_chunks, num_frames = 4, 10
    data = np.zeros((num_chunks, num_frames, 2), dtype=np.float32)
    for c in range(num_chunks):
        times = CHUNKS[c].start + np.array([FRAMES[f].middle for f in range(num_frames)])
        a, b = (times > 0.1) & (times < 1.2), (times >= 1.2) & (times < 2.2)
        first, second = (b, a) if c == swap_chunk else (a, b)
        data[c, first, 0] = 1.0
        data[c, second, 1] = 1.0
    return SlidingWindowFeature(data, CHUNKS)


def test_each_active_local_speaker_goes_to_the_reference_speaker_it_matches():
    segmentations = segmentation(swap_chunk=2)
    hard, soft, centroids = OracleClustering()(segmentations=segmentations, file={"annotation": reference()},
                                               frames=FRAMES)
    labels = reference().labels()  # ["A", "B", "C"]
    active = segmentations.data.sum(axis=1) > 0
    expected = {(0, 0): "A", (1, 0): "A", (1, 1): "B", (2, 0): "B", (2, 1): "A", (3, 1): "B"}
    assert {(c, k) for c, k in zip(*np.nonzero(active))} == set(expected)
    for (c, k), speaker in expected.items():
        assert labels[hard[c, k]] == speaker, (c, k)
        assert soft[c, k, hard[c, k]] == 1.0
    assert centroids is None


def test_the_padded_last_chunk_is_assigned():
    """pyannote.audio's OracleClustering cuts the reference over the file only, and leaves the local
    speakers of a last chunk that ends past the end of the file out (-2): their speech was lost"""
    hard, _, _ = OracleClustering()(segmentations=segmentation(), file={"annotation": reference()}, frames=FRAMES)
    assert hard[3, 1] == reference().labels().index("B")


def test_centroids_are_those_of_the_matched_speakers_and_zero_for_a_speaker_never_embedded():
    segmentations = segmentation(swap_chunk=2)
    rng = np.random.default_rng(0)
    voice = {"A": rng.standard_normal(8), "B": rng.standard_normal(8)}
    embeddings = np.zeros((4, 2, 8))
    for c in range(4):
        embeddings[c, 0], embeddings[c, 1] = (voice["B"], voice["A"]) if c == 2 else (voice["A"], voice["B"])
    clustering = OracleClustering()
    _, _, centroids = clustering(embeddings=embeddings, segmentations=segmentations,
                                 file={"annotation": reference()}, frames=FRAMES)
    np.testing.assert_allclose(centroids[0], voice["A"])
    np.testing.assert_allclose(centroids[1], voice["B"])
    np.testing.assert_array_equal(centroids[2], 0.0)  # C: no local speaker, no embedding (not NaN)


def test_without_a_reference_it_says_what_is_needed():
    with pytest.raises(ValueError, match=r"file\['annotation'\].*AgglomerativeClustering"):
        OracleClustering()(segmentations=segmentation(), file={"uri": "toy", "audio": "toy.wav"}, frames=FRAMES)


def test_it_is_a_clustering_method_of_the_pipeline():
    assert CLUSTERING_METHODS["OracleClustering"] is OracleClustering


# ~~~~ the pipeline's oracle twins, on pyannote.audio's sample and its reference ~~~~


@pytest.fixture(scope="module")
def pipeline():
    from pyannote.audio import Pipeline

    import pyannote_resnet50

    return Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)


@pytest.fixture(scope="module")
def sample():
    from pyannote.audio.sample import SAMPLE_FILE

    return {"uri": SAMPLE_FILE["uri"], "audio": str(SAMPLE_FILE["audio"]), "annotation": SAMPLE_FILE["annotation"]}


def test_oracle_clustering_of_the_real_segmentation_finds_the_reference_speakers(pipeline, sample):
    """On the sample the shipped pipeline finds one speaker (its local speakers hold both voices); given
    the reference speakers, the same segmentation gives both of them and a lower DER: what is left is
    the segmentation's own error"""
    from pyannote.metrics.diarization import DiarizationErrorRate

    twin = pipeline.oracle_twin(segmentation=False, clustering=True, local_speaker_check="none")
    assert twin.klustering == "OracleClustering" and twin.local_speaker_check == "none"
    assert not twin.oracle  # the segmentation model is kept
    metric = DiarizationErrorRate(collar=0.0)
    shipped, oracle = pipeline(dict(sample)), twin(dict(sample))
    assert len(oracle.labels()) == len(sample["annotation"].labels()) == 2
    assert metric(sample["annotation"], oracle) < metric(sample["annotation"], shipped)
    # the check's hyper-parameters follow the twin's check: none left for "none", the pipeline's kept otherwise
    assert "resegmentation" not in twin.parameters(instantiated=True)
    checked = pipeline.oracle_twin(segmentation=False, clustering=True)
    assert checked.parameters(instantiated=True)["resegmentation"] == pipeline.parameters(instantiated=True)["resegmentation"]


def test_oracle_twin_refuses_to_make_nothing_oracle(pipeline):
    with pytest.raises(ValueError, match="nothing made oracle"):
        pipeline.oracle_twin(segmentation=False)

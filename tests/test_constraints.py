"""Every clustering method on the pipeline's (chunk, local speaker) layout, speaker-count
constraints and their validation, minimum relative cluster size, exclusive diarization."""

import numpy as np
import pytest
from pyannote.core import SlidingWindow, SlidingWindowFeature

from pyannote_resnet50.pipelines.clustering import (
    AgglomerativeClustering,
    SpectralClustering,
    VBxClustering,
    check_num_speakers,
)
from pyannote_resnet50.pipelines.plda import train_plda

DIMENSION = 256
NUM_CHUNKS = 60
METHODS = ["AgglomerativeClustering", "SpectralClustering", "VBxClustering"]


def speaker_centres(num_speakers, rng, rank=24):
    """Random speakers in a `rank`-dimensional subspace shared by all speakers (as real
    speaker variability), norm about sqrt(DIMENSION)"""
    basis = np.linalg.qr(np.random.default_rng(12345).standard_normal((DIMENSION, rank)))[0].T
    return rng.standard_normal((num_speakers, rank)) @ basis * np.sqrt(DIMENSION / rank)


def chunked_speakers(num_speakers=3, seed=0, noise=0.6, num_local=3):
    """Embeddings of `num_speakers` well-separated synthetic speakers, laid out as the
    pipeline lays them out: (num_chunks, num_local_speakers, dimension), two or three
    distinct speakers active per chunk, the other local speakers inactive (NaN).

    Returns
    -------
    embeddings : (NUM_CHUNKS, num_local, DIMENSION) np.ndarray
    segmentations : SlidingWindowFeature (NUM_CHUNKS, 10, num_local), 1 where active
    speakers : (NUM_CHUNKS, num_local) np.ndarray, -1 where inactive
    """
    rng = np.random.default_rng(seed)
    centres = speaker_centres(num_speakers, rng)
    speakers = -np.ones((NUM_CHUNKS, num_local), dtype=int)
    for c in range(NUM_CHUNKS):
        active = rng.integers(2, min(num_local, num_speakers) + 1)
        speakers[c, :active] = rng.permutation(num_speakers)[:active]
    embeddings = np.full((NUM_CHUNKS, num_local, DIMENSION), np.nan)
    active = speakers >= 0
    embeddings[active] = centres[speakers[active]] + noise * rng.standard_normal((active.sum(), DIMENSION))
    masks = np.repeat(active[:, None, :], 10, axis=1).astype(float)
    return embeddings, SlidingWindowFeature(masks, SlidingWindow(duration=1.0, step=1.0)), speakers


@pytest.fixture(scope="module")
def clusterings():
    """One instantiated clustering per method (VBx with a PLDA of 60 other synthetic speakers)"""
    rng = np.random.default_rng(100)
    labels = np.repeat(np.arange(60), 10)
    training = speaker_centres(60, rng)[labels] + 0.6 * rng.standard_normal((600, DIMENSION))
    # forced_split_floor=0: any requested count is met, as pyannote.audio does (the shipped floor caps a
    # request by the clusters of the threshold: tests/test_speaker_count.py)
    agglomerative = AgglomerativeClustering(forced_split_floor=0.0)
    agglomerative.instantiate({"method": "centroid", "threshold": 0.8, "min_cluster_size": 3})
    vbx = VBxClustering(plda=train_plda(training, labels, lda_dim=32))
    # over-segmenting initialisation (mostly singletons at 0.5): VBx counts the speakers
    vbx.instantiate({"threshold": 0.5, "Fa": 0.07, "Fb": 0.8, "loopP": 0.0})
    return {"AgglomerativeClustering": agglomerative, "SpectralClustering": SpectralClustering(), "VBxClustering": vbx}


def num_found(hard_clusters, speakers):
    assigned = hard_clusters[speakers >= 0]
    return len(np.unique(assigned[assigned >= 0]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("num_speakers", [2, 3, 5])
def test_recovers_well_separated_speakers(clusterings, method, num_speakers):
    embeddings, segmentations, speakers = chunked_speakers(num_speakers, seed=num_speakers)
    hard, _, centroids = clusterings[method](embeddings.copy(), segmentations=segmentations)
    active = speakers >= 0
    assert num_found(hard, speakers) == num_speakers == len(centroids)
    # one cluster per speaker: the contingency table is a permutation
    table = np.zeros((num_speakers, num_speakers), dtype=int)
    np.add.at(table, (speakers[active], hard[active]), 1)
    assert np.count_nonzero(table) == num_speakers


@pytest.mark.parametrize("method", METHODS)
def test_num_min_max_constraints(clusterings, method):
    """4 speakers; asking for 2, at least 6, at most 3 or exactly 4 is obeyed"""
    embeddings, segmentations, speakers = chunked_speakers(4, seed=11)
    clustering = clusterings[method]
    for kwargs, check in [
        ({"num_clusters": 2}, lambda k: k == 2),
        ({"num_clusters": 4, "min_clusters": 2, "max_clusters": 6}, lambda k: k == 4),
        ({"min_clusters": 6}, lambda k: k >= 6),
        ({"max_clusters": 3}, lambda k: k <= 3),
        ({"min_clusters": 2, "max_clusters": 2}, lambda k: k == 2),
        ({"max_clusters": 1}, lambda k: k == 1),
    ]:
        hard, _, _ = clustering(embeddings.copy(), segmentations=segmentations, **kwargs)
        assert check(num_found(hard, speakers)), (kwargs, num_found(hard, speakers))


def test_vbx_never_puts_two_speakers_of_a_chunk_together(clusterings):
    """Hungarian assignment (constrained_assignment): cannot-link within a chunk"""
    embeddings, segmentations, speakers = chunked_speakers(4, seed=12, noise=1.2)
    hard, _, _ = clusterings["VBxClustering"](embeddings.copy(), segmentations=segmentations, num_clusters=3)
    for chunk, local in zip(hard, speakers):
        assigned = chunk[local >= 0]
        assert len(set(assigned)) == len(assigned)


def test_min_cluster_fraction():
    """A 5-embedding outlier group is its own cluster unless smaller than 10 % of the embeddings"""
    rng = np.random.default_rng(0)
    centres = 3 * rng.standard_normal((3, 32))
    labels = np.repeat([0, 1, 2], [50, 50, 5])
    embeddings = centres[labels] + 0.3 * rng.standard_normal((len(labels), 32))
    clustering = AgglomerativeClustering()
    params = {"method": "centroid", "threshold": 0.7, "min_cluster_size": 1}
    clustering.instantiate(params)  # tuned before min_cluster_fraction existed: 0
    assert clustering.min_cluster_fraction == 0.0
    assert len(np.unique(clustering.cluster(embeddings.copy(), 1, len(labels)))) == 3
    clustering.instantiate({**params, "min_cluster_fraction": 0.1})  # ceil(10.5) = 11 > 5
    clusters = clustering.cluster(embeddings.copy(), 1, len(labels))
    assert len(np.unique(clusters)) == 2 and clustering.min_cluster_size == 1  # restored
    assert set(clustering.parameters()) == {"threshold", "method", "min_cluster_size", "min_cluster_fraction"}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num_speakers": 0}, ValueError, "num_speakers must be at least 1"),
        ({"num_speakers": -1}, ValueError, "num_speakers must be at least 1"),
        ({"min_speakers": 0}, ValueError, "min_speakers must be at least 1"),
        ({"num_speakers": 2.5}, TypeError, r"num_speakers must be a positive integer \(e.g. num_speakers=2\)"),
        ({"num_speakers": 2.0}, TypeError, "not 2.0 \\(float\\)"),
        ({"max_speakers": "2"}, TypeError, "not '2' \\(str\\)"),
        ({"num_speakers": True}, TypeError, "positive integer"),
        ({"min_speakers": 3, "max_speakers": 2}, ValueError, r"min_speakers \(3\) must be smaller than or equal"),
        ({"num_speakers": 4, "max_speakers": 2}, ValueError, "outside"),
    ],
)
def test_argument_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        check_num_speakers(**kwargs)


def test_validation_accepts_valid_values():
    check_num_speakers()
    check_num_speakers(np.int64(2), 1, np.inf)
    check_num_speakers(None, 2, 2)


@pytest.mark.parametrize("method", METHODS)
def test_clustering_validates_constraints(clusterings, method):
    embeddings, segmentations, _ = chunked_speakers(3)
    with pytest.raises(ValueError, match="num_clusters must be at least 1"):
        clusterings[method](embeddings, segmentations=segmentations, num_clusters=0)
    with pytest.raises(TypeError, match="max_clusters must be a positive integer"):
        clusterings[method](embeddings, segmentations=segmentations, max_clusters=2.5)


# ~~~~ the pipeline: validation of apply's arguments, exclusive diarization ~~~~


@pytest.fixture(scope="module")
def default_pipeline():
    import pyannote_resnet50
    from pyannote.audio import Pipeline

    return Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)


@pytest.fixture(scope="module")
def sample():
    from pyannote.audio.sample import SAMPLE_FILE

    return {"uri": SAMPLE_FILE["uri"], "audio": SAMPLE_FILE["audio"]}


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"num_speakers": 0}, ValueError),
        ({"num_speakers": 2.5}, TypeError),
        ({"num_speakers": -1}, ValueError),
        ({"min_speakers": "2"}, TypeError),
        ({"max_speakers": False}, TypeError),
        ({"min_speakers": 4, "max_speakers": 2}, ValueError),
        ({"exclusive": "yes"}, TypeError),
    ],
)
def test_pipeline_validates_arguments(default_pipeline, sample, kwargs, error):
    with pytest.raises(error):
        default_pipeline(dict(sample), **kwargs)


def check_exclusive(diarization, exclusive):
    """`exclusive` has no overlap, the same speech (up to gap filling) and no new speaker"""
    from pyannote.core import Annotation

    assert isinstance(exclusive, Annotation) and exclusive.uri == diarization.uri
    assert exclusive.get_overlap().duration() == 0.0
    assert 0 < len(exclusive.labels()) <= len(diarization.labels())
    speech, exclusive_speech = diarization.get_timeline().support(), exclusive.get_timeline().support()
    assert abs(exclusive_speech.duration() - speech.duration()) < 0.05 * speech.duration()


def test_exclusive_diarization(default_pipeline, sample):
    """pipeline(file, exclusive=True) with the shipped default pipeline"""
    check_exclusive(default_pipeline(dict(sample)), default_pipeline(dict(sample), exclusive=True))


def test_exclusive_diarization_removes_overlap():
    """With the sample's reference as segmentation (1.9 s of overlapped speech), overlap
    is in the normal output and not in the exclusive one (call-time or pipeline option)"""
    from pyannote.audio.sample import SAMPLE_FILE

    from pyannote_resnet50.pipelines import ORACLE, SpeakerDiarization

    file = {key: SAMPLE_FILE[key] for key in ("uri", "audio", "annotation")}
    pipeline = SpeakerDiarization(segmentation=ORACLE)
    pipeline.instantiate(pipeline.default_parameters())
    diarization = pipeline(dict(file), num_speakers=2)
    assert diarization.get_overlap().duration() > 1.0
    exclusive = pipeline(dict(file), num_speakers=2, exclusive=True)
    check_exclusive(diarization, exclusive)
    # where two speakers overlap, the exclusive one is one of them
    for segment in diarization.get_overlap():
        assert set(exclusive.crop(segment).labels()) <= set(diarization.crop(segment).labels())
    by_default = SpeakerDiarization(segmentation=ORACLE, exclusive=True)
    by_default.instantiate(pipeline.default_parameters())
    assert by_default(dict(file), num_speakers=2) == exclusive
    assert by_default(dict(file), num_speakers=2, exclusive=False) == diarization


def test_fill_exclusive_gaps():
    from pyannote_resnet50.pipelines.speaker_diarization import fill_exclusive_gaps

    # speaker per 0.1 s frame (-1: nobody): A _ _ A B A _ _ _ _ _ A _ B
    labels = np.array([0, -1, -1, 0, 1, 0, -1, -1, -1, -1, -1, 0, -1, 1])
    data = np.zeros((len(labels), 2))
    data[labels >= 0, labels[labels >= 0]] = 1
    filled = fill_exclusive_gaps(SlidingWindowFeature(data, SlidingWindow(duration=0.1, step=0.1)), 0.3).data
    expected = labels.copy()
    expected[1:3] = 0  # 0.2 s silent gap of A: filled; A-B-A, the long gap, A _ B: kept
    np.testing.assert_array_equal(np.where(filled.any(1), filled.argmax(1), -1), expected)
    assert filled.sum(axis=1).max() == 1

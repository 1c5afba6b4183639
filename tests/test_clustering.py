"""Clustering methods: the right number of well-separated clusters, constraints honoured."""

import numpy as np
import pytest

from pyannote_resnet50.pipelines.clustering import SpectralClustering, eigengap_count


def _clusters(num_clusters: int, per_cluster: int = 30, dimension: int = 32, noise: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((num_clusters, dimension))
    labels = np.repeat(np.arange(num_clusters), per_cluster)
    return centers[labels] + noise * rng.standard_normal((len(labels), dimension)), labels


def _agreement(predicted, expected) -> float:
    """Share of pairs on which two clusterings agree (same / different cluster)"""
    same_p = predicted[:, None] == predicted[None]
    same_e = expected[:, None] == expected[None]
    return float(np.mean(same_p == same_e))


@pytest.mark.parametrize("num_clusters", [2, 3, 5, 8])
def test_spectral_clustering_finds_the_number_of_clusters(num_clusters):
    embeddings, labels = _clusters(num_clusters, seed=num_clusters)
    predicted = SpectralClustering().cluster(embeddings, min_clusters=1, max_clusters=len(embeddings))
    assert len(np.unique(predicted)) == num_clusters
    assert _agreement(predicted, labels) == 1.0


def test_spectral_clustering_honours_constraints():
    embeddings, _ = _clusters(4)
    clustering = SpectralClustering()
    assert len(np.unique(clustering.cluster(embeddings, 1, 120, num_clusters=2))) == 2
    assert len(np.unique(clustering.cluster(embeddings, 6, 120))) >= 6
    assert len(np.unique(clustering.cluster(embeddings, 1, 3))) <= 3


def test_spectral_clustering_through_pyannote_interface():
    """BaseClustering.__call__: (chunk, local speaker) embeddings -> hard clusters"""
    embeddings, labels = _clusters(3, per_cluster=20)
    # 30 chunks x 2 local speakers
    chunked = embeddings.reshape(30, 2, -1)
    segmentations = np.ones((30, 10, 2))
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    hard, _, centroids = SpectralClustering()(
        chunked, segmentations=SlidingWindowFeature(segmentations, SlidingWindow(duration=1.0, step=1.0))
    )
    assert hard.shape == (30, 2) and centroids.shape[0] == 3
    assert _agreement(hard.reshape(-1), labels) == 1.0


def test_eigengap_count():
    eigenvalues = np.array([0.0, 0.0, 0.0, 5.0, 5.1, 5.2])
    assert eigengap_count(eigenvalues, 1, 5) == (3, 5.0)
    # the gap at 3 clusters is out of [4, 5]
    assert eigengap_count(eigenvalues, 4, 5)[0] in (4, 5)


def test_pipeline_accepts_spectral_clustering(tmp_path):
    from pyannote_resnet50.pipelines import SpeakerDiarization

    pipeline = SpeakerDiarization(clustering="SpectralClustering")
    assert isinstance(pipeline.clustering, SpectralClustering)
    pipeline.instantiate(pipeline.default_parameters())
    with pytest.raises(ValueError, match="clustering must be one of"):
        SpeakerDiarization(clustering="KMeans")


def test_agglomerative_clustering_subsamples_reproducibly():
    """Beyond max_num_embeddings the dendrogram is built on a subsample drawn the same way on
    every run, and every embedding is still assigned to its cluster."""
    import random

    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from pyannote_resnet50.pipelines.clustering import MAX_AGGLOMERATIVE_EMBEDDINGS, AgglomerativeClustering

    assert AgglomerativeClustering().max_num_embeddings == MAX_AGGLOMERATIVE_EMBEDDINGS
    embeddings, labels = _clusters(3, per_cluster=40)
    chunked = embeddings.reshape(60, 2, -1)
    segmentations = SlidingWindowFeature(np.ones((60, 10, 2)), SlidingWindow(duration=1.0, step=1.0))
    clustering = AgglomerativeClustering(max_num_embeddings=30)
    clustering.instantiate({"method": "centroid", "threshold": 0.7, "min_cluster_size": 2, "min_cluster_fraction": 0.0})
    train, chunk_idx, speaker_idx = clustering.filter_embeddings(chunked, segmentations)
    assert len(train) == 30 and np.all(np.diff(chunk_idx * 2 + speaker_idx) > 0)
    runs = []
    for seed in (0, 1):
        random.seed(seed)  # pyannote.audio's own subsample would follow this
        hard, _, centroids = clustering(chunked, segmentations=segmentations)
        runs.append(hard)
    assert np.array_equal(runs[0], runs[1])
    assert centroids.shape[0] == 3 and np.all(runs[0] >= 0)
    assert _agreement(runs[0].reshape(-1), labels) == 1.0

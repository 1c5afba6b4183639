"""PLDA training / storage, the VBx algorithm, and VBx clustering (synthetic data, CPU, fast)."""

import numpy as np
import pytest

from pyannote_resnet50.pipelines.clustering import VBxClustering
from pyannote_resnet50.pipelines.plda import PLDA, load_plda, train_plda
from pyannote_resnet50.pipelines.vbx import VBx, cluster_vbx, forward_backward

DIMENSION = 256


def speakers(num_speakers, per_speaker, seed, noise=0.6, dimension=DIMENSION, rank=24):
    """Embeddings of `num_speakers` synthetic speakers (centres in a `rank`-dimensional
    speaker subspace shared by all speakers, as real speaker variability; isotropic noise)

    Returns
    -------
    embeddings : (num_speakers * per_speaker, dimension) np.ndarray
    labels : (num_speakers * per_speaker, ) np.ndarray
    """
    basis = np.linalg.qr(np.random.default_rng(12345).standard_normal((dimension, rank)))[0].T
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_speakers, rank)) @ basis * np.sqrt(dimension / rank)
    labels = np.repeat(np.arange(num_speakers), per_speaker)
    return centres[labels] + noise * rng.standard_normal((len(labels), dimension)), labels


@pytest.fixture(scope="module")
def plda():
    """PLDA trained on 80 synthetic training speakers (others than those clustered)"""
    embeddings, labels = speakers(80, 12, seed=0)
    return train_plda(embeddings, [f"spk{label}" for label in labels], lda_dim=64)


def purity(predicted, expected):
    """Share of items whose predicted cluster's majority reference label is theirs"""
    return sum(np.bincount(expected[predicted == k]).max() for k in np.unique(predicted)) / len(expected)


def test_plda_spaces(plda):
    """transform: within-speaker covariance ~ I, across-speaker ~ diag(phi), phi descending"""
    embeddings, labels = speakers(80, 12, seed=0)
    features = plda.transform(embeddings)
    assert features.shape == (len(embeddings), 64) and plda.phi.shape == (64,)
    assert np.all(np.diff(plda.phi) <= 0) and np.all(plda.phi > 0)
    means = np.stack([features[labels == k].mean(axis=0) for k in range(80)])
    within = np.cov((features - means[labels]).T, bias=True)
    np.testing.assert_allclose(np.diag(within), 1.0, atol=0.1)
    assert np.abs(within - np.diag(np.diag(within))).max() < 0.1
    # variance of 12-embedding speaker means: across-speaker + within-speaker / 12
    np.testing.assert_allclose(means.var(axis=0), plda.phi + 1.0 / 12, rtol=0.1)


def test_plda_save_load_round_trip(plda, tmp_path):
    path = plda.save(tmp_path / "plda.npz")
    with np.load(path, allow_pickle=False) as npz:  # plain arrays only
        assert {"mean1", "lda", "mean2", "mu", "tr", "phi"} <= set(npz.files)
    loaded = PLDA.load(path)
    embeddings, _ = speakers(5, 4, seed=1)
    np.testing.assert_array_equal(loaded.transform(embeddings), plda.transform(embeddings))
    np.testing.assert_array_equal(loaded.phi, plda.phi)
    assert loaded.info == plda.info == {"num_speakers": 80, "num_embeddings": 960}
    assert load_plda(str(path)).lda_dim == 64


def test_plda_training_errors():
    embeddings, labels = speakers(3, 1, seed=0)
    with pytest.raises(ValueError, match="at least 2 speakers"):
        train_plda(embeddings, labels)  # single embeddings are dropped
    embeddings, labels = speakers(4, 3, seed=0)
    with pytest.warns(UserWarning, match="reduced to 3"):
        assert train_plda(embeddings, labels, lda_dim=128).lda_dim == 3


def test_missing_plda_says_how_to_create_it(tmp_path, monkeypatch):
    import pyannote_resnet50.pipelines.plda as module

    monkeypatch.setattr(module, "DEFAULT_PLDA", tmp_path / "plda-voices.npz")
    with pytest.raises(FileNotFoundError, match="recipes/plda/train.sh"):
        load_plda()
    with pytest.raises(FileNotFoundError, match="python -m pyannote_resnet50.pipelines.plda"):
        load_plda(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="needs a PLDA"):
        VBxClustering()


@pytest.mark.parametrize("loopP", [0.0, 0.6])
def test_forward_backward_matches_brute_force(loopP):
    """Posteriors and evidence of the VBx HMM (3 speakers, 5 frames), against enumeration"""
    import itertools

    rng = np.random.default_rng(0)
    log_likelihoods = rng.standard_normal((5, 3))
    pi = rng.dirichlet(np.ones(3))
    transitions = loopP * np.eye(3) + (1 - loopP) * pi
    posteriors, log_evidence, _, _ = forward_backward(log_likelihoods, loopP, pi)
    expected, evidence = np.zeros((5, 3)), 0.0
    for path in itertools.product(range(3), repeat=5):
        p = pi[path[0]] * np.exp(sum(log_likelihoods[t, s] for t, s in enumerate(path)))
        p *= np.prod([transitions[a, b] for a, b in zip(path[:-1], path[1:])])
        evidence += p
        expected[np.arange(5), path] += p
    np.testing.assert_allclose(log_evidence, np.log(evidence), rtol=1e-6)
    np.testing.assert_allclose(posteriors, expected / evidence, atol=1e-6)


def test_vbx_without_loop_is_the_hmm_with_loopP_0(plda):
    """The closed form used when loopP == 0 equals the forward-backward path"""
    import pyannote_resnet50.pipelines.vbx as vbx

    embeddings, _ = speakers(3, 10, seed=4)
    gamma = np.random.default_rng(5).dirichlet(np.ones(5), size=len(embeddings))
    X = plda.transform(embeddings)
    closed = vbx.VBx(X, plda.phi, gamma, Fa=0.07, Fb=0.8, loopP=0.0, max_iters=3)
    hmm = vbx.VBx(X, plda.phi, gamma, Fa=0.07, Fb=0.8, loopP=1e-12, max_iters=3)
    for a, b in zip(closed[:2], hmm[:2]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(closed[2], hmm[2], rtol=1e-6)


@pytest.mark.parametrize("loopP", [0.0, 0.5, 0.95])
@pytest.mark.parametrize("num_speakers", [2, 3, 5, 8])
def test_vbx_recovers_synthetic_speakers(plda, num_speakers, loopP):
    """From one cluster per embedding (the most over-segmented initialisation) to the
    unseen speakers, with pyannote.audio 4's Fa and Fb"""
    embeddings, labels = speakers(num_speakers, 20, seed=num_speakers)
    order = np.random.default_rng(3).permutation(len(labels))
    embeddings, labels = embeddings[order], labels[order]
    clusters, gamma, pi = cluster_vbx(
        np.arange(len(labels)), plda.transform(embeddings), plda.phi, Fa=0.07, Fb=0.8, loopP=loopP
    )
    assert clusters.max() + 1 == num_speakers and gamma.shape == (len(labels), num_speakers)
    assert purity(clusters, labels) == 1.0
    np.testing.assert_allclose(pi.sum(), 1.0, atol=1e-6)


def test_vbx_elbo_does_not_decrease(plda):
    embeddings, _ = speakers(4, 30, seed=5)
    gamma = np.random.default_rng(6).dirichlet(np.ones(8), size=len(embeddings))
    _, _, elbo = VBx(plda.transform(embeddings), plda.phi, gamma, Fa=0.07, Fb=0.8, loopP=0.5, max_iters=15)
    assert len(elbo) > 1 and np.all(np.diff(elbo) > -1e-6 * np.abs(elbo[:-1]))


def test_pipeline_with_vbx(plda, tmp_path):
    """SpeakerDiarization(clustering="VBxClustering", plda=...) end to end on pyannote's sample"""
    from pyannote.audio.sample import SAMPLE_FILE

    from pyannote_resnet50.pipelines import SpeakerDiarization

    with pytest.raises(FileNotFoundError, match="does not exist"):
        SpeakerDiarization(clustering="VBxClustering", plda=tmp_path / "missing.npz")
    pipeline = SpeakerDiarization(clustering="VBxClustering", plda=plda.save(tmp_path / "plda.npz"))
    assert isinstance(pipeline.clustering, VBxClustering)
    pipeline.instantiate(pipeline.default_parameters())
    file = {"uri": "sample", "audio": SAMPLE_FILE["audio"]}
    assert len(pipeline(dict(file), num_speakers=2).labels()) == 2
    assert len(pipeline(dict(file), max_speakers=1).labels()) == 1
    small = train_plda(*speakers(20, 4, seed=9, dimension=32), lda_dim=8)
    with pytest.raises(ValueError, match="32-dimensional embeddings"):
        SpeakerDiarization(clustering="VBxClustering", plda=small)


def test_plda_command_on_a_tiny_slice(tiny_corpus, tmp_path, restore_registry):
    """Embeddings of a few chunks of a few speakers -> a PLDA file that loads without pickle"""
    from pyannote_resnet50.pipelines.plda import main

    output = tmp_path / "plda.npz"
    argv = [tiny_corpus["protocol"], str(output), "--database", str(tiny_corpus["database_yml"]),
            "--subset", "test", "--min-duration", "0.5", "--max-duration", "1.5", "--lda-dim", "2",
            "--max-speakers-per-subset", "4", "--max-chunks", "16", "--save-embeddings", str(tmp_path / "emb.npz")]
    assert main(argv) == 0
    plda = PLDA.load(output)
    assert plda.dimension == 256 and plda.lda_dim == 2
    assert plda.info["protocol"] == tiny_corpus["protocol"] and plda.info["embedding"] == "embedding-voices.ckpt"
    with np.load(tmp_path / "emb.npz", allow_pickle=False) as npz:
        assert npz["embeddings"].shape == (plda.info["num_embeddings"], 256)
        assert plda.info["num_embeddings"] <= 16
        assert all("@" in label for label in npz["labels"])  # file-scoped identities: uri@label
        assert 2 <= len(set(npz["labels"])) <= 4
    # the pipeline checks that the PLDA was trained with its embedding model
    import warnings

    from pyannote_resnet50.pipelines import SpeakerDiarization
    from pyannote_resnet50.pipelines.utils import random_embedding_checkpoint

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SpeakerDiarization(clustering="VBxClustering", plda=output)
    assert not [w for w in caught if "another model" in str(w.message)]
    other = random_embedding_checkpoint(tmp_path / "other.ckpt", base_width=8)
    with pytest.warns(UserWarning, match="another model"):
        SpeakerDiarization(clustering="VBxClustering", plda=output, embedding=other)

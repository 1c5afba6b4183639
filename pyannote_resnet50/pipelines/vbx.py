"""Variational Bayes HMM clustering of x-vector sequences (VBx)

Our implementation of F. Landini, J. Profant, M. Diez and L. Burget, "Bayesian HMM
clustering of x-vector sequences (VBx) in speaker diarization: theory, implementation
and analysis on standard tasks", Computer Speech & Language 71, 2022 (Section 3 and
Algorithm 1), written from the paper, with the variable names of its reference
implementation (BUT's ``VBx.py``: ``Fa``, ``Fb``, ``loopP``, ``Phi``, ``gamma``, ``pi``).

Model. Features ``X`` (one per x-vector, in the PLDA space of
:class:`~pyannote_resnet50.pipelines.plda.PLDA`: within-speaker covariance I, across-speaker
covariance ``diag(Phi)``) are emitted by an HMM whose states are speakers; speaker ``s``
has a latent vector ``y_s ~ N(0, I)`` and emits ``x ~ N(sqrt(Phi) * y_s, I)``. From a
speaker, the HMM stays with probability ``loopP`` and otherwise jumps to a speaker ``s``
with probability ``pi[s]`` (which may be itself). Variational Bayes alternates the
posteriors of the speaker models (``alpha``, ``invL``), of the state sequence (``gamma``,
forward-backward) and the maximum-likelihood update of ``pi``; speakers whose ``pi``
vanishes disappear, which is how VBx counts speakers. ``Fa`` scales the acoustic
likelihoods (x-vectors are not independent), ``Fb`` the speaker-model regularisation.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
from scipy.special import logsumexp, softmax

__all__ = ["forward_backward", "VBx", "cluster_vbx"]

#: floor of the transition and initial probabilities (as in the reference implementation)
EPSILON = 1e-8


def forward_backward(
    log_likelihoods: np.ndarray, loopP: float, pi: np.ndarray
) -> Tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Forward-backward algorithm of the VBx HMM, in the log domain

    Transitions are ``loopP * I + (1 - loopP) * pi`` (stay, or jump according to the
    speaker priors) and the initial state distribution is `pi`; both are floored at
    :data:`EPSILON`. Their structure makes each step O(num_states), not O(num_states²).

    Parameters
    ----------
    log_likelihoods : (num_frames, num_states) np.ndarray
        Log-likelihood of each frame under each state.
    loopP : float
        Probability of staying in the same state.
    pi : (num_states, ) np.ndarray
        Speaker priors.

    Returns
    -------
    posteriors : (num_frames, num_states) np.ndarray
        State posteriors (rows sum to 1).
    log_evidence : float
        Log-likelihood of the whole sequence.
    log_forward, log_backward : (num_frames, num_states) np.ndarray
        Log forward and backward probabilities.
    """
    num_frames, num_states = log_likelihoods.shape
    jump = (1.0 - loopP) * pi + EPSILON  # transitions[i, j] = loopP * (i == j) + jump[j]
    log_forward = np.empty((num_frames, num_states))
    log_backward = np.zeros((num_frames, num_states))
    log_forward[0] = log_likelihoods[0] + np.log(pi + EPSILON)
    # log-sum-exp over previous / next states, on exponentials shifted by their maximum
    for t in range(1, num_frames):
        shift = log_forward[t - 1].max()
        previous = np.exp(log_forward[t - 1] - shift)
        log_forward[t] = log_likelihoods[t] + shift + np.log(loopP * previous + jump * previous.sum())
    for t in range(num_frames - 2, -1, -1):
        following = log_likelihoods[t + 1] + log_backward[t + 1]
        shift = following.max()
        following = np.exp(following - shift)
        log_backward[t] = shift + np.log(loopP * following + jump @ following)
    log_evidence = float(logsumexp(log_forward[-1]))
    posteriors = np.exp(log_forward + log_backward - log_evidence)
    return posteriors, log_evidence, log_forward, log_backward


def VBx(
    X: np.ndarray,
    Phi: np.ndarray,
    gamma: np.ndarray,
    Fa: float = 1.0,
    Fb: float = 1.0,
    loopP: float = 0.0,
    pi: Optional[np.ndarray] = None,
    max_iters: int = 20,
    epsilon: float = 1e-6,
) -> Tuple[np.ndarray, np.ndarray, List[float]]:
    """Variational Bayes inference of the VBx model (Landini et al. 2022, Algorithm 1)

    Parameters
    ----------
    X : (num_frames, dimension) np.ndarray
        Features in PLDA space (:meth:`PLDA.transform`), in sequence order.
    Phi : (dimension, ) np.ndarray
        Across-speaker covariance eigenvalues of the PLDA (``PLDA.phi``).
    gamma : (num_frames, num_speakers) np.ndarray
        Initial speaker responsibilities (e.g. smoothed agglomerative clusters).
    Fa : float, optional
        Acoustic scaling factor. Defaults to 1.
    Fb : float, optional
        Speaker regularisation coefficient. Defaults to 1.
    loopP : float, optional
        Probability of staying with the same speaker between consecutive frames.
        0 makes frames independent given the speaker priors (a Bayesian GMM, as
        pyannote.audio 4 uses on chunk embeddings). Defaults to 0.
    pi : (num_speakers, ) np.ndarray, optional
        Initial speaker priors. Defaults to uniform.
    max_iters : int, optional
        Maximum number of iterations. Defaults to 20.
    epsilon : float, optional
        Stop when the ELBO improves by less than that. Defaults to 1e-6.

    Returns
    -------
    gamma : (num_frames, num_speakers) np.ndarray
        Speaker responsibilities.
    pi : (num_speakers, ) np.ndarray
        Speaker priors (speakers dropped by VBx get ~0).
    elbo : list of float
        Evidence lower bound after each iteration (non-decreasing up to rounding).
    """
    X = np.asarray(X, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    num_frames, dimension = X.shape
    num_speakers = gamma.shape[1]
    pi = np.full(num_speakers, 1.0 / num_speakers) if pi is None else np.asarray(pi, dtype=np.float64)
    # per-frame constant of the Gaussian log-likelihood, and the projected features
    G = -0.5 * (np.sum(X**2, axis=1, keepdims=True) + dimension * np.log(2 * np.pi))
    rho = X * np.sqrt(Phi)
    elbo: List[float] = []
    for _ in range(max_iters):
        # posterior of the speaker models q(y_s) = N(alpha_s, diag(invL_s))
        invL = 1.0 / (1.0 + Fa / Fb * gamma.sum(axis=0)[:, None] * Phi)
        alpha = Fa / Fb * invL * (gamma.T @ rho)
        # expected log-likelihood of each frame under each speaker, scaled by Fa
        log_p = Fa * (rho @ alpha.T - 0.5 * (invL + alpha**2) @ Phi + G)
        if loopP > 0.0:
            # posterior of the speaker sequence
            gamma, log_evidence, log_forward, log_backward = forward_backward(log_p, loopP, pi)
            # speaker priors: first frame + expected number of (non-loop) jumps into each speaker
            jumps = np.exp(
                logsumexp(log_forward[:-1], axis=1, keepdims=True) + log_p[1:] + log_backward[1:] - log_evidence
            ).sum(axis=0)
            pi = gamma[0] + (1.0 - loopP) * pi * jumps
        else:
            # no loop: frames are independent given the priors (same result, in closed form)
            log_joint = log_p + np.log(pi + EPSILON)
            log_frames = logsumexp(log_joint, axis=1, keepdims=True)
            gamma = np.exp(log_joint - log_frames)
            log_evidence = float(log_frames.sum())
            pi = gamma.sum(axis=0)
        pi = pi / pi.sum()
        elbo.append(float(log_evidence + 0.5 * Fb * np.sum(np.log(invL) - invL - alpha**2 + 1.0)))
        if len(elbo) > 1 and elbo[-1] - elbo[-2] < epsilon:
            break
    return gamma, pi, elbo


def cluster_vbx(
    initial_clusters: np.ndarray,
    X: np.ndarray,
    Phi: np.ndarray,
    Fa: float,
    Fb: float,
    loopP: float,
    init_smoothing: float = 7.0,
    max_iters: int = 20,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VBx initialised from hard clusters (e.g. agglomerative)

    Parameters
    ----------
    initial_clusters : (num_frames, ) np.ndarray
        0-indexed initial cluster of each frame.
    X, Phi, Fa, Fb, loopP, max_iters
        See :func:`VBx`.
    init_smoothing : float, optional
        Initial responsibilities are ``softmax(init_smoothing * one_hot)``: the larger,
        the closer to the initial clusters. Defaults to 7 (pyannote.audio 4).

    Returns
    -------
    clusters : (num_frames, ) np.ndarray
        0-indexed clusters (most responsible speaker, renumbered: dropped speakers
        leave no gap).
    gamma : (num_frames, num_speakers) np.ndarray
        Responsibilities of the speakers kept, same order as `clusters`.
    pi : (num_speakers, ) np.ndarray
        Priors of the speakers kept.
    """
    initial_clusters = np.unique(initial_clusters, return_inverse=True)[1]
    one_hot = np.eye(initial_clusters.max() + 1)[initial_clusters]
    gamma, pi, _ = VBx(
        X, Phi, softmax(init_smoothing * one_hot, axis=1), Fa=Fa, Fb=Fb, loopP=loopP, max_iters=max_iters
    )
    kept, clusters = np.unique(np.argmax(gamma, axis=1), return_inverse=True)
    return clusters, gamma[:, kept], pi[kept]

"""A restarted diagonal-GMM fit of latent codes, for initialising a mixture prior without labels
(VaDE's ``gmm_init`` stage): each start runs k-means with its own restarts, then EM of a diagonal
GaussianMixture from that partition; the start with the highest mean log-likelihood wins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from genexp.models.components.partitioner import kmeans_labels

VAR_FLOOR = 1e-6  # added to every per-cluster variance of the k-means start (sklearn's reg_covar)


@dataclass
class GMMFit:
    """The chosen diagonal GMM (float64 arrays: ``means`` and ``variances`` (K, d), ``weights``
    (K,)), its mean log-likelihood per code, and every start's (``logliks``; ``best`` indexes it)."""

    means: np.ndarray
    variances: np.ndarray
    weights: np.ndarray
    loglik: float
    logliks: list[float]
    best: int


def _kmeans_start(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Means, variances and weights of a partition (an empty cluster gets the global statistics)."""
    d = x.shape[1]
    means, variances, weights = np.empty((k, d)), np.empty((k, d)), np.empty(k)
    for c in range(k):
        members = x[labels == c]
        if len(members) == 0:
            members = x
        means[c], variances[c] = members.mean(0), members.var(0) + VAR_FLOOR
        weights[c] = max(int((labels == c).sum()), 1)
    return means, variances, weights / weights.sum()


def fit_gmm_restarts(
    codes: Tensor,
    k: int,
    restarts: int = 5,
    kmeans_n_init: int = 10,
    seed: int = 0,
    max_iter: int = 200,
) -> GMMFit:
    """``restarts`` starts, start r: k-means (k-means++, ``kmeans_n_init`` restarts, seed
    ``seed + r``) -> its partition's means/variances/weights -> EM of a diagonal GaussianMixture
    (``max_iter`` iterations). Returns the start with the highest mean log-likelihood of ``codes``."""
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    if restarts < 1 or kmeans_n_init < 1:
        raise ValueError(f"restarts and kmeans_n_init must be >= 1, got {restarts} and {kmeans_n_init}")
    x = codes.detach().double().cpu().numpy()
    fits: list[GaussianMixture] = []
    logliks: list[float] = []
    for r in range(int(restarts)):
        labels = kmeans_labels(codes, k, kmeans_n_init, 300, seed + r).numpy()
        means, variances, weights = _kmeans_start(x, labels, k)
        gmm = GaussianMixture(
            k,
            covariance_type="diag",
            means_init=means,
            precisions_init=1.0 / variances,
            weights_init=weights,
            max_iter=max_iter,
            random_state=seed + r,
        )
        with threadpool_limits(limits=torch.get_num_threads()):
            gmm.fit(x)
            logliks.append(float(gmm.score(x)))
        fits.append(gmm)
    best = int(np.argmax(logliks))
    chosen = fits[best]
    return GMMFit(
        means=np.asarray(chosen.means_, dtype=np.float64),
        variances=np.asarray(chosen.covariances_, dtype=np.float64),
        weights=np.asarray(chosen.weights_, dtype=np.float64),
        loglik=logliks[best],
        logliks=logliks,
        best=best,
    )

"""Fréchet distance between Gaussians (FID's formula) and Gaussian fitting of feature sets."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from torch import Tensor


def gaussian_fit(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64) of the rows of an ``(n, d)`` feature matrix."""
    x = features.detach().cpu().double().numpy() if isinstance(features, Tensor) else np.asarray(features, float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need an (n >= 2, d) feature matrix, got shape {x.shape}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}): the squared 2-Wasserstein distance of Gaussians.

    The matrix square root comes from :func:`scipy.linalg.sqrtm`; when ``S1 S2`` is singular
    (e.g. fewer samples than dimensions) ``eps`` is added to both diagonals, as TTUR's FID code
    does. Imaginary parts from round-off are dropped.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, float)), np.atleast_2d(np.asarray(sigma2, float))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    if singular or not np.isfinite(covmean).all():
        offset = np.eye(len(mu1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
            warnings.warn("Fréchet distance: large imaginary part in sqrtm(S1 S2); the value is unreliable")
        covmean = covmean.real
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return float(value)


def frechet_distance_from_features(features_1: Tensor, features_2: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two ``(n, d)`` feature sets."""
    return frechet_distance(*gaussian_fit(features_1), *gaussian_fit(features_2))


"""Fréchet distance against closed forms and against torch-fidelity's implementation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_fid import fid_statistics_to_metric

from genexp.metrics.frechet import (
    frechet_distance,
    frechet_distance_from_features,
    gaussian_fit,
    trace_sqrt_product,
)


def test_diagonal_gaussians_closed_form() -> None:
    # commuting covariances: FD = |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2
    m1, m2 = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 0.5])
    a, b = np.array([4.0, 1.0, 0.25]), np.array([1.0, 9.0, 0.25])
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert expected == pytest.approx(10.0 + 1.0 + 4.0)
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_rotated_covariance_closed_form() -> None:
    # S2 = R S1 R^T with the same eigenvalues; 1-D check of a non-diagonal pair via scalar case
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    s1 = q @ np.diag([1.0, 2.0, 3.0, 4.0]) @ q.T
    # same covariance, shifted mean: only the mean term remains
    assert frechet_distance(np.zeros(4), s1, np.full(4, 0.5), s1) == pytest.approx(1.0, abs=1e-8)
    # scaled covariance c^2 S: tr(S + c^2 S - 2 c S) = (1 - c)^2 tr S
    c = 3.0
    assert frechet_distance(np.zeros(4), s1, np.zeros(4), c**2 * s1) == pytest.approx(
        (1 - c) ** 2 * 10.0, rel=1e-8
    )


def test_matches_torch_fidelity_on_random_features() -> None:
    gen = torch.Generator().manual_seed(0)
    f1 = torch.randn(500, 16, generator=gen, dtype=torch.float64)
    f2 = 0.7 * torch.randn(400, 16, generator=gen, dtype=torch.float64) + 0.3
    mu1, s1 = gaussian_fit(f1)
    mu2, s2 = gaussian_fit(f2)
    ref = fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, verbose=False)
    ours = frechet_distance_from_features(f1, f2)
    assert ours == pytest.approx(ref["frechet_inception_distance"], rel=1e-8)
    assert ours > 0.5


def test_identical_sets_and_symmetry() -> None:
    f = torch.randn(300, 8, generator=torch.Generator().manual_seed(1))
    g = torch.randn(300, 8, generator=torch.Generator().manual_seed(2)) + 1.0
    assert frechet_distance_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance_from_features(f, g) == pytest.approx(
        frechet_distance_from_features(g, f), rel=1e-8
    )


def test_trace_sqrt_product_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(6)
    a, b = (
        np.cov(rng.normal(size=(80, 30)), rowvar=False),
        np.cov(rng.normal(size=(60, 30)) * 2, rowvar=False),
    )
    assert trace_sqrt_product(a, b) == pytest.approx(np.trace(scipy.linalg.sqrtm(a @ b)).real, rel=1e-8)


def test_singular_covariances_are_handled() -> None:
    # fewer samples than dimensions: rank-deficient covariances still give a finite, non-negative value
    f = torch.randn(5, 20, generator=torch.Generator().manual_seed(3))
    g = torch.randn(5, 20, generator=torch.Generator().manual_seed(4))
    value = frechet_distance_from_features(f, g)
    (m1, s1), (m2, s2) = gaussian_fit(f), gaussian_fit(g)
    eig = np.linalg.eigvals(s1 @ s2).real.clip(0, None)  # (S1 S2)^(1/2) has the roots of these
    expected = (m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum()
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-5)
    assert frechet_distance_from_features(f, f) == pytest.approx(
        0.0, abs=1e-5
    )  # sqrt of round-off eigenvalues


@pytest.mark.parametrize(
    "shapes", [((2,), (2, 2), (3,), (2, 2)), ((2,), (2, 2), (2,), (3, 3)), ((2,), (3, 3), (2,), (3, 3))]
)
def test_bad_shapes_raise(shapes: tuple) -> None:
    """Each of the three mismatches alone: the means, the covariances, means vs covariances."""
    m1, s1, m2, s2 = (np.eye(*s) if len(s) == 2 else np.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match="shape mismatch: mu"):
        frechet_distance(m1, s1, m2, s2)


def test_gaussian_fit_of_two_rows_and_of_numpy_input() -> None:
    m, s = gaussian_fit(np.array([[0.0, 1.0], [2.0, 5.0]], dtype=np.float32))
    assert m.dtype == s.dtype == np.float64
    assert m.tolist() == [1.0, 3.0] and s.tolist() == [[2.0, 4.0], [4.0, 8.0]]
    m_t, s_t = gaussian_fit(torch.tensor([[0.0, 1.0], [2.0, 5.0]], requires_grad=True))
    assert m_t.tolist() == [1.0, 3.0] and s_t.tolist() == s.tolist()
    with pytest.raises(ValueError, match=r"need an \(n >= 2, d\) feature matrix, got shape \(1, 4\)"):
        gaussian_fit(torch.zeros(1, 4))


def test_covariances_are_used_in_float64_whatever_their_dtype() -> None:
    """float32 covariances give bit-for-bit the float64 result (no float32 eigh or trace)."""
    rng = np.random.default_rng(7)
    m1, m2 = rng.normal(size=40), rng.normal(size=40)
    s1, s2 = (np.cov(rng.normal(size=(200, 40)), rowvar=False).astype(np.float32) for _ in range(2))
    exact = frechet_distance(m1, s1.astype(np.float64), m2, s2.astype(np.float64))
    assert frechet_distance(m1, s1, m2, s2.astype(np.float64)) == exact
    assert frechet_distance(m1, s1.astype(np.float64), m2, s2) == exact

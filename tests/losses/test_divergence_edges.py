"""Boundaries, default arguments, jitter, gradients and devices of genexp.losses.divergences."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from genexp.errors import ConfigError
from genexp.losses.divergences import (
    _gaussian_log_prob,
    batch_gaussian,
    js_gaussians,
    kernel_matrix,
    kl_gaussians,
    mmd2_unbiased,
    trace_sqrt_product,
    w2_squared_gaussians,
)

D = torch.float64


def test_batch_gaussian_accepts_the_smallest_batch_of_two_rows() -> None:
    m, s = batch_gaussian(torch.tensor([[0.0, 1.0], [2.0, 5.0]], dtype=D))
    assert m.tolist() == [1.0, 3.0]
    assert s.tolist() == [[2.0, 4.0], [4.0, 8.0]]  # d = ±(1, 2), unbiased: d d' * 2 / (2 - 1)


def test_jitter_is_added_to_both_covariances() -> None:
    """KL with ``jitter`` j is the KL of S + j I, also for the implicit identity."""
    m, var, j = torch.tensor([0.3, -1.0], dtype=D), torch.tensor([0.8, 2.0], dtype=D), 0.5
    expected = kl_divergence(
        MultivariateNormal(m, torch.diag(var + j)),
        MultivariateNormal(torch.zeros(2, dtype=D), (1 + j) * torch.eye(2, dtype=D)),
    )
    assert kl_gaussians(m, torch.diag(var), jitter=j).item() == pytest.approx(expected.item(), rel=1e-12)


def _diag_pair() -> tuple[torch.Tensor, torch.Tensor, float]:
    a, b = torch.tensor([0.5, 2.0, 4.0], dtype=D), torch.tensor([1.0, 0.25, 9.0], dtype=D)
    return torch.diag(a), torch.diag(b), (a * b).sqrt().sum().item()


def test_default_jitter_is_a_negligible_regulariser() -> None:
    """The defaults give the exact closed forms to 1e-5 on well-conditioned inputs."""
    s1, s2, tr = _diag_pair()
    m1, m2 = torch.tensor([1.0, 0.0, -1.0], dtype=D), torch.tensor([0.0, 2.0, 0.0], dtype=D)
    assert trace_sqrt_product(s1, s2).item() == pytest.approx(tr, rel=1e-5)
    w2 = (m1 - m2).pow(2).sum() + (s1.diagonal().sqrt() - s2.diagonal().sqrt()).pow(2).sum()
    assert w2_squared_gaussians(m1, s1, m2, s2).item() == pytest.approx(w2.item(), rel=1e-5)
    kl = kl_divergence(MultivariateNormal(m1, s1), MultivariateNormal(m2, s2)).item()
    assert kl_gaussians(m1, s1, m2, s2).item() == pytest.approx(kl, rel=1e-5)
    exact = js_gaussians(m1, s1, m2, s2, jitter=0.0).item()
    assert js_gaussians(m1, s1, m2, s2).item() == pytest.approx(exact, rel=1e-5)


def test_square_root_gradient_is_exact_above_the_default_eps() -> None:
    """d tr S^{1/2} / dS = S^{-1/2} / 2; W2 to N(0, I) adds d tr S / dS = I: exact for eigenvalues > eps."""
    s = torch.diag(torch.tensor([0.25, 4.0], dtype=D)).requires_grad_(True)
    trace_sqrt_product(s).backward()
    assert s.grad.diagonal().tolist() == pytest.approx([1.0, 0.25], rel=1e-9)
    s.grad = None
    w2_squared_gaussians(torch.zeros(2, dtype=D), s).backward()
    assert s.grad.diagonal().tolist() == pytest.approx([1.0 - 2.0, 1.0 - 0.5], rel=1e-9)


def test_gaussian_log_prob_matches_torch_for_a_correlated_covariance() -> None:
    cov = torch.tensor([[2.0, 0.9, 0.1], [0.9, 1.0, -0.3], [0.1, -0.3, 0.5]], dtype=D)
    m = torch.tensor([0.5, -1.0, 2.0], dtype=D)
    x = torch.randn(7, 3, dtype=D, generator=torch.Generator().manual_seed(0))
    expected = MultivariateNormal(m, cov).log_prob(x)
    assert torch.allclose(_gaussian_log_prob(x, m, torch.linalg.cholesky(cov)), expected, rtol=1e-12)


def test_kernel_matrix_defaults_to_rbf_with_bandwidth_j() -> None:
    a, b = torch.tensor([[0.0, 0.0]], dtype=D), torch.tensor([[1.0, 1.0], [2.0, 0.0]], dtype=D)
    assert kernel_matrix(a, b)[0].tolist() == pytest.approx([math.exp(-1.0), math.exp(-2.0)])


def test_kernel_scale_must_be_positive_and_may_be_below_one() -> None:
    a, b = torch.zeros(1, 1, dtype=D), torch.ones(1, 1, dtype=D)
    assert kernel_matrix(a, b, "rbf", scale=0.5).item() == pytest.approx(math.exp(-2.0))
    for kernel in ("rbf", "imq"):
        with pytest.raises(ConfigError, match="scale must be > 0, got 0"):
            kernel_matrix(a, b, kernel, scale=0.0)


def test_mmd_uses_the_given_scale_within_each_set() -> None:
    """1-D points x = {0, 1}, y = {0, 3}, rbf scale 2: every kernel value by hand."""
    x, y = torch.tensor([[0.0], [1.0]], dtype=D), torch.tensor([[0.0], [3.0]], dtype=D)
    kxy = sum(math.exp(-d2 / 2) for d2 in (0.0, 9.0, 1.0, 4.0)) / 4
    expected = math.exp(-0.5) + math.exp(-4.5) - 2 * kxy
    assert mmd2_unbiased(x, y, "rbf", scale=2.0).item() == pytest.approx(expected, rel=1e-12)


def test_input_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="at least 2 samples on each side, got 1 and 5"):
        mmd2_unbiased(torch.zeros(1, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="at least 2 samples on each side, got 5 and 1"):
        mmd2_unbiased(torch.zeros(5, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="needs at least one mean vector"):
        kl_gaussians(None, None)


def test_every_divergence_stays_on_the_input_device() -> None:
    """On the meta device any tensor created on the CPU would raise a device mismatch."""
    m, s = torch.zeros(3, dtype=D, device="meta"), torch.eye(3, dtype=D, device="meta")
    outs = [
        trace_sqrt_product(s, s),
        w2_squared_gaussians(m, s),
        kl_gaussians(m, s),
        kl_gaussians(None, None, m, s),
        *(js_gaussians(m, s, method=method) for method in ("moment_matched", "symmetric_kl", "monte_carlo")),
    ]
    assert all(out.device.type == "meta" for out in outs)

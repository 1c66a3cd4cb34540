"""Latent divergences against closed forms and independent estimates (genexp.losses.divergences)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from genexp.errors import ConfigError
from genexp.losses.divergences import (
    batch_gaussian,
    js_gaussians,
    kl_gaussians,
    mmd2_unbiased,
    trace_sqrt_product,
    w2_squared_gaussians,
)
from genexp.losses.gaussian import kl_diag_to_standard_normal
from genexp.metrics.frechet import frechet_distance

D = torch.float64


def random_gaussian(j: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random mean and a well-conditioned SPD covariance."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(j, j, generator=g, dtype=D)
    return torch.randn(j, generator=g, dtype=D), a @ a.T / j + 0.2 * torch.eye(j, dtype=D)


def test_batch_gaussian_is_mean_and_unbiased_covariance() -> None:
    x = torch.randn(50, 4, dtype=D, generator=torch.Generator().manual_seed(0))
    m, s = batch_gaussian(x)
    assert torch.allclose(m, x.mean(0))
    assert torch.allclose(s, torch.cov(x.T))
    with pytest.raises(ValueError, match="n >= 2"):
        batch_gaussian(x[:1])


def test_w2_one_dimensional_closed_form() -> None:
    m1, s1, m2, s2 = torch.tensor([0.7], dtype=D), 1.5, torch.tensor([-0.4], dtype=D), 0.3
    w2 = w2_squared_gaussians(
        m1, torch.tensor([[s1**2]], dtype=D), m2, torch.tensor([[s2**2]], dtype=D), jitter=0.0
    )
    assert w2.item() == pytest.approx((0.7 + 0.4) ** 2 + (s1 - s2) ** 2, rel=1e-10)


def test_w2_commuting_covariances_closed_form() -> None:
    a, b = torch.tensor([0.5, 2.0, 4.0], dtype=D), torch.tensor([1.0, 0.25, 9.0], dtype=D)
    m1, m2 = torch.tensor([1.0, 0.0, -1.0], dtype=D), torch.tensor([0.0, 2.0, 0.0], dtype=D)
    w2 = w2_squared_gaussians(m1, torch.diag(a), m2, torch.diag(b), jitter=0.0)
    expected = (m1 - m2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum()
    assert w2.item() == pytest.approx(expected.item(), rel=1e-10)


def test_w2_general_matches_the_numpy_frechet_distance_and_the_identity_shortcut() -> None:
    m1, s1 = random_gaussian(6, 1)
    m2, s2 = random_gaussian(6, 2)
    ours = w2_squared_gaussians(m1, s1, m2, s2, jitter=0.0).item()
    assert ours == pytest.approx(frechet_distance(m1.numpy(), s1.numpy(), m2.numpy(), s2.numpy()), rel=1e-8)
    eye = torch.eye(6, dtype=D)
    assert w2_squared_gaussians(m1, s1).item() == pytest.approx(
        w2_squared_gaussians(m1, s1, torch.zeros(6, dtype=D), eye, jitter=0.0).item(), rel=1e-5
    )
    assert w2_squared_gaussians(m2, s2, m2, s2, jitter=0.0).item() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("case", ["rank_deficient", "repeated_eigenvalues", "near_zero"])
def test_w2_square_root_is_stable_on_singular_covariances(case: str) -> None:
    g = torch.Generator().manual_seed(3)
    if case == "rank_deficient":  # 4 codes in 10 dimensions: rank 3
        mu = torch.randn(4, 10, generator=g, dtype=D, requires_grad=True)
    elif case == "repeated_eigenvalues":  # S exactly I: eigh's eigenvector gradients would divide by 0
        mu = torch.tensor(np.sqrt(19 / 2) * np.vstack([np.eye(10), -np.eye(10)]), requires_grad=True)
    else:  # collapsed codes: all eigenvalues ~1e-12
        mu = (1e-6 * torch.randn(64, 10, generator=g, dtype=D)).requires_grad_(True)
    m, s = batch_gaussian(mu)
    w2 = w2_squared_gaussians(m, s)
    w2.backward()
    assert torch.isfinite(w2) and torch.isfinite(mu.grad).all()
    reference = frechet_distance(m.detach().numpy(), s.detach().numpy(), np.zeros(10), np.eye(10))
    assert w2.item() == pytest.approx(reference, abs=1e-3)


def test_trace_sqrt_product_of_identity_is_sum_of_sqrt_eigenvalues() -> None:
    _, s = random_gaussian(5, 4)
    assert trace_sqrt_product(s).item() == pytest.approx(
        torch.linalg.eigvalsh(s).sqrt().sum().item(), rel=1e-10
    )


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_kl_matches_torch_distributions_in_both_directions(direction: str) -> None:
    (m1, s1), (m2, s2) = random_gaussian(5, 5), random_gaussian(5, 6)
    if direction == "reverse":
        (m1, s1), (m2, s2) = (m2, s2), (m1, s1)
    expected = kl_divergence(MultivariateNormal(m1, s1), MultivariateNormal(m2, s2)).item()
    assert kl_gaussians(m1, s1, m2, s2, jitter=0.0).item() == pytest.approx(expected, rel=1e-9)


def test_kl_against_standard_normal_in_both_directions() -> None:
    m, s = random_gaussian(4, 7)
    std = MultivariateNormal(torch.zeros(4, dtype=D), torch.eye(4, dtype=D))
    q = MultivariateNormal(m, s)
    assert kl_gaussians(m, s, jitter=0.0).item() == pytest.approx(kl_divergence(q, std).item(), rel=1e-9)
    assert kl_gaussians(None, None, m, s, jitter=0.0).item() == pytest.approx(
        kl_divergence(std, q).item(), rel=1e-9
    )
    var = torch.tensor([0.5, 2.0, 1.0, 0.1], dtype=D)  # diagonal: the VAE's per-sample closed form
    assert kl_gaussians(m, torch.diag(var), jitter=0.0).item() == pytest.approx(
        kl_diag_to_standard_normal(m, var.log()).item(), rel=1e-9
    )


@pytest.mark.parametrize("method", ["moment_matched", "symmetric_kl"])
def test_js_closed_forms_are_symmetric_nonnegative_and_zero_on_equal_inputs(method: str) -> None:
    (m1, s1), (m2, s2) = random_gaussian(4, 8), random_gaussian(4, 9)
    ab = js_gaussians(m1, s1, m2, s2, method=method, jitter=0.0)
    ba = js_gaussians(m2, s2, m1, s1, method=method, jitter=0.0)
    assert ab.item() == pytest.approx(ba.item(), rel=1e-9) and ab.item() > 0
    assert js_gaussians(m1, s1, m1, s1, method=method, jitter=0.0).item() == pytest.approx(0.0, abs=1e-9)
    if method == "symmetric_kl":
        assert ab.item() == pytest.approx(
            0.5 * (kl_gaussians(m1, s1, m2, s2, 0.0) + kl_gaussians(m2, s2, m1, s1, 0.0)).item()
        )


def _js_1d_by_quadrature(m1: float, v1: float, m2: float, v2: float) -> float:
    """The true JS of two 1-D Gaussians by numerical integration on a fine grid."""
    x = torch.linspace(-30, 30, 200001, dtype=D)
    p = torch.exp(-0.5 * (x - m1) ** 2 / v1) / math.sqrt(2 * math.pi * v1)
    q = torch.exp(-0.5 * (x - m2) ** 2 / v2) / math.sqrt(2 * math.pi * v2)
    mix = 0.5 * (p + q)
    f = 0.5 * p * torch.log(p / mix).nan_to_num(0.0) + 0.5 * q * torch.log(q / mix).nan_to_num(0.0)
    return torch.trapezoid(f, x).item()


@pytest.mark.parametrize("shift", [0.5, 2.0, 20.0])
def test_js_monte_carlo_is_the_true_js_below_log2_and_moment_matching_bounds_it(shift: float) -> None:
    torch.manual_seed(0)
    m1, s1 = torch.tensor([0.0], dtype=D), torch.tensor([[1.0]], dtype=D)
    m2, s2 = torch.tensor([shift], dtype=D), torch.tensor([[0.5]], dtype=D)
    truth = _js_1d_by_quadrature(0.0, 1.0, shift, 0.5)
    mc = js_gaussians(m1, s1, m2, s2, method="monte_carlo", n_samples=20000, jitter=0.0).item()
    mm = js_gaussians(m1, s1, m2, s2, method="moment_matched", jitter=0.0).item()
    assert truth <= math.log(2) + 1e-12 and mc <= math.log(2) + 1e-12
    assert mc == pytest.approx(truth, abs=0.01)
    assert mm >= truth - 1e-9  # a Gaussian maximises entropy: moment matching over-estimates JS
    if shift == 20.0:
        assert mm > math.log(2)  # ... and is not capped at ln 2 (documented)


def test_mmd_near_zero_for_one_distribution_and_positive_for_a_shift() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 10, generator=g, dtype=D), torch.randn(500, 10, generator=g, dtype=D)
    for kernel in ("rbf", "imq"):
        same = mmd2_unbiased(x, y, kernel).item()
        shifted = mmd2_unbiased(x, y + 1.0, kernel).item()
        assert abs(same) < 0.005
        assert shifted > 0.05 and shifted > 20 * abs(same)


def test_mmd_is_unbiased_on_average() -> None:
    g = torch.Generator().manual_seed(1)
    values = [
        mmd2_unbiased(torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g)).item()
        for _ in range(400)
    ]
    assert abs(float(np.mean(values))) < 3 * float(np.std(values)) / math.sqrt(len(values))
    assert min(values) < 0  # unbiased, so not clipped at zero


def test_rbf_bandwidth_defaults_to_latent_dim() -> None:
    x, y = torch.zeros(2, 4, dtype=D), torch.ones(2, 4, dtype=D)  # ||x - y||^2 = 4 = J
    # k(x, x') = 1 within each set, exp(-4 / 4) across
    assert mmd2_unbiased(x, y, "rbf").item() == pytest.approx(2 - 2 * math.exp(-1.0))
    assert mmd2_unbiased(x, y, "rbf", scale=2.0).item() == pytest.approx(2 - 2 * math.exp(-2.0))
    assert mmd2_unbiased(x, y, "imq").item() == pytest.approx(2 - 2 * 8.0 / (8.0 + 4.0))


def test_unknown_options_raise_config_errors() -> None:
    x = torch.randn(4, 2)
    with pytest.raises(ConfigError, match="kernel"):
        mmd2_unbiased(x, x, "laplace")
    with pytest.raises(ConfigError, match="JS method"):
        js_gaussians(torch.zeros(2), torch.eye(2), method="exact")

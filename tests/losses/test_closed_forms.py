"""Closed forms not covered elsewhere: what the moment-matched Jensen-Shannon computes, checked by
numerical integration (scipy.integrate.quad) in 1-D and by Gaussian entropies in 2-D; the Gaussian
likelihood at a non-default scale; the light-curve cross-entropy's limits; the Gaussian entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm
from torch.distributions import Normal

from genexp.losses.clustering import diag_gaussian_entropy
from genexp.losses.divergences import js_gaussians
from genexp.losses.likelihoods import gaussian_cross_entropy, gaussian_nll

D = torch.float64


def entropy_1d(var: float) -> float:
    return 0.5 * math.log(2 * math.pi * math.e * var)


def quad(f, lo: float = -20.0, hi: float = 20.0) -> float:
    return integrate.quad(f, lo, hi, limit=200, epsabs=1e-11, epsrel=1e-9)[0]


def js_1d(m1: float, v1: float, m2: float, v2: float, method: str) -> float:
    return js_gaussians(
        torch.tensor([m1], dtype=D),
        torch.tensor([[v1]], dtype=D),
        torch.tensor([m2], dtype=D),
        torch.tensor([[v2]], dtype=D),
        method=method,
        jitter=0.0,
    ).item()


CASES = [(0.0, 1.0, 0.5, 1.0), (0.0, 1.0, 2.0, 0.25), (-1.0, 3.0, 4.0, 0.5), (0.0, 1.0, 0.0, 4.0)]


@pytest.mark.parametrize("m1,v1,m2,v2", CASES)
def test_moment_matched_js_is_the_kl_to_the_moment_matched_gaussian_by_quadrature(
    m1: float, v1: float, m2: float, v2: float
) -> None:
    """The docstring's definition: 1/2 KL(P1 || M) + 1/2 KL(P2 || M), M = N(mean, var) of (P1 + P2) / 2."""
    p1, p2 = norm(m1, math.sqrt(v1)), norm(m2, math.sqrt(v2))
    mm, vm = 0.5 * (m1 + m2), 0.5 * (v1 + v2) + 0.25 * (m1 - m2) ** 2
    gauss = norm(mm, math.sqrt(vm))
    kl = lambda p: quad(lambda x: p.pdf(x) * (p.logpdf(x) - gauss.logpdf(x)))  # noqa: E731
    value = js_1d(m1, v1, m2, v2, "moment_matched")
    assert value == pytest.approx(0.5 * kl(p1) + 0.5 * kl(p2), rel=1e-7, abs=1e-10)
    # = h(M) - (h(P1) + h(P2)) / 2, which exceeds the true JS = h(mixture) - (h(P1) + h(P2)) / 2
    assert value == pytest.approx(entropy_1d(vm) - 0.5 * (entropy_1d(v1) + entropy_1d(v2)), rel=1e-9)
    mix = lambda x: 0.5 * (p1.pdf(x) + p2.pdf(x))  # noqa: E731
    h_mix = quad(lambda x: -mix(x) * math.log(max(mix(x), 1e-300)))
    true_js = h_mix - 0.5 * (entropy_1d(v1) + entropy_1d(v2))
    assert 0 < true_js <= math.log(2)
    assert value - true_js == pytest.approx(entropy_1d(vm) - h_mix, abs=1e-8)
    assert value > true_js


def test_moment_matched_js_in_two_dimensions_is_the_gaussian_entropy_gap() -> None:
    m1, m2 = torch.tensor([0.0, 1.0], dtype=D), torch.tensor([2.0, -1.0], dtype=D)
    s1 = torch.tensor([[1.0, 0.3], [0.3, 0.5]], dtype=D)
    s2 = torch.tensor([[2.0, -0.4], [-0.4, 1.0]], dtype=D)
    sm = 0.5 * (s1 + s2) + 0.25 * torch.outer(m1 - m2, m1 - m2)
    h = lambda s: 0.5 * torch.logdet(2 * math.pi * math.e * s).item()  # noqa: E731
    value = js_gaussians(m1, s1, m2, s2, jitter=0.0).item()
    assert value == pytest.approx(h(sm) - 0.5 * (h(s1) + h(s2)), rel=1e-9)
    default_prior = js_gaussians(m1, s1, jitter=0.0).item()  # None: N(0, I)
    eye = torch.eye(2, dtype=D)
    s0 = 0.5 * (s1 + eye) + 0.25 * torch.outer(m1, m1)
    assert default_prior == pytest.approx(h(s0) - 0.5 * (h(s1) + h(eye)), rel=1e-9)


def test_monte_carlo_js_estimates_the_quadrature_value() -> None:
    torch.manual_seed(0)
    p1, p2 = norm(0.0, 1.0), norm(1.5, 0.6)
    mix = lambda x: max(0.5 * (p1.pdf(x) + p2.pdf(x)), 1e-300)  # noqa: E731
    truth = 0.5 * quad(lambda x: p1.pdf(x) * (p1.logpdf(x) - math.log(mix(x)))) + 0.5 * quad(
        lambda x: p2.pdf(x) * (p2.logpdf(x) - math.log(mix(x)))
    )
    mc = js_gaussians(
        torch.tensor([0.0], dtype=D),
        torch.tensor([[1.0]], dtype=D),
        torch.tensor([1.5], dtype=D),
        torch.tensor([[0.36]], dtype=D),
        method="monte_carlo",
        n_samples=40000,
        jitter=0.0,
    ).item()
    assert mc == pytest.approx(truth, abs=0.006)  # ~4 standard errors of 40000 draws per side


def test_gaussian_nll_at_another_observation_scale_matches_torch() -> None:
    g = torch.Generator().manual_seed(0)
    x, mean = torch.randn(4, 2, 3, generator=g, dtype=D), torch.randn(4, 2, 3, generator=g, dtype=D)
    ref = -Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(gaussian_nll(x, mean, 0.3), ref)


def test_lightcurve_cross_entropy_limits() -> None:
    g = torch.Generator().manual_seed(1)
    obs, pred = torch.randn(3, 6, generator=g, dtype=D), torch.randn(3, 6, generator=g, dtype=D)
    pred_s = 0.2 + torch.rand(3, 6, generator=g, dtype=D)
    mask = (torch.rand(3, 6, generator=g) > 0.3).to(D)
    zero = torch.zeros_like(obs)
    # an exact observation: the Gaussian negative log-likelihood of the masked points
    ref = -(Normal(pred, pred_s).log_prob(obs) * mask).sum(1)
    torch.testing.assert_close(gaussian_cross_entropy(obs, zero, pred, pred_s, mask), ref)
    # the observation's own spread adds s^2 / (2 s_hat^2) per point
    s = torch.full_like(obs, 0.5)
    extra = (0.25 / (2 * pred_s**2) * mask).sum(1)
    torch.testing.assert_close(gaussian_cross_entropy(obs, s, pred, pred_s, mask), ref + extra)


def test_diag_gaussian_entropy_matches_torch() -> None:
    logvar = torch.tensor([[0.0, -1.0, 2.0], [0.5, 0.5, -3.0]], dtype=D)
    ref = Normal(torch.zeros_like(logvar), (0.5 * logvar).exp()).entropy().sum(1)
    torch.testing.assert_close(diag_gaussian_entropy(logvar), ref)
    assert np.isclose(diag_gaussian_entropy(torch.zeros(1, 1, dtype=D)).item(), entropy_1d(1.0))

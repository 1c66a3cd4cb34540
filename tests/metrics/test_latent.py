"""Thesis §C3/§M3 latent diagnostics on Gaussian cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genexp.metrics.latent import (
    aggregate_posterior_gaps,
    conditional_entropy,
    kl_gaussians,
    kl_vae,
    latent_diagnostics,
    linear_probe_accuracy,
    log_mse,
    per_sample_squared_error,
)


def test_kl_vae_and_entropy_closed_forms() -> None:
    n, j = 7, 3
    mu, logvar = torch.zeros(n, j), torch.zeros(n, j)
    assert kl_vae(mu, logvar) == pytest.approx(0.0)
    assert conditional_entropy(logvar) == pytest.approx(j * 0.5 * math.log(2 * math.pi * math.e))
    # mu = 1, sigma^2 = 4 in every dim: 1/2 (1 + 4 - ln 4 - 1) per dim
    mu, logvar = torch.ones(n, j), torch.full((n, j), math.log(4.0))
    assert kl_vae(mu, logvar) == pytest.approx(j * 0.5 * (4 - math.log(4)))
    assert conditional_entropy(logvar) == pytest.approx(j * 0.5 * math.log(2 * math.pi * math.e * 4))


def test_kl_gaussians_against_univariate_formula() -> None:
    # KL(N(1, 2) || N(0, 0.5)) = ln(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2 with variances 2, 0.5
    v1, v2 = 2.0, 0.5
    expected = 0.5 * math.log(v2 / v1) + (v1 + 1.0) / (2 * v2) - 0.5
    assert kl_gaussians(
        np.array([1.0]), np.array([[v1]]), np.array([0.0]), np.array([[v2]])
    ) == pytest.approx(expected)


def test_aggregate_posterior_of_shifted_scaled_gaussian() -> None:
    # codes ~ N(m, diag(s^2)): D_KL^Z -> 1/2 sum (s^2 + m^2 - 1 - ln s^2), W2 -> sqrt(|m|^2 + sum (s - 1)^2)
    gen = torch.Generator().manual_seed(0)
    m, s = torch.tensor([0.5, -1.0, 0.0]), torch.tensor([2.0, 0.5, 1.0])
    z = m + s * torch.randn(200000, 3, generator=gen)
    out = aggregate_posterior_gaps(z)
    kl = 0.5 * float((s**2 + m**2 - 1 - torch.log(s**2)).sum())
    w2 = math.sqrt(float((m**2).sum() + ((s - 1) ** 2).sum()))
    assert out["kl_z"] == pytest.approx(kl, abs=0.01)
    assert out["agg_kl_prior"] == pytest.approx(out["kl_z"])
    assert out["agg_w2_prior"] == pytest.approx(w2, abs=0.01)
    # against a matching prior both gaps vanish
    matched = aggregate_posterior_gaps(z, prior_mean=m.numpy(), prior_cov=np.diag((s**2).numpy()))
    assert matched["agg_kl_prior"] == pytest.approx(0.0, abs=1e-3)
    assert matched["agg_w2_prior"] == pytest.approx(0.0, abs=0.02)


def test_latent_diagnostics_combines_parts() -> None:
    gen = torch.Generator().manual_seed(1)
    mu = torch.randn(5000, 4, generator=gen)
    logvar = torch.full((5000, 4), -1.0)
    x = torch.randn(5000, 10, generator=gen)
    x_rec = x + 0.1 * torch.randn(5000, 10, generator=gen)
    out = latent_diagnostics(mu, logvar, sq_err_x=per_sample_squared_error(x, x_rec))
    assert out["log_mse_x"] == pytest.approx(log_mse(x, x_rec))
    assert out["log_mse_x"] == pytest.approx(math.log(0.01), abs=0.05)
    assert out["mi_q"] == pytest.approx(out["kl_vae"] - out["kl_z"])
    # mu ~ N(0, I), sigma^2 = e^-1: D_KL^VAE = 4 * 1/2 (1 + e^-1 + 1 - 1) = 2 (1 + e^-1)
    assert out["kl_vae"] == pytest.approx(2 * (1 + math.exp(-1)), abs=0.1)
    assert out["kl_z"] == pytest.approx(0.0, abs=0.01)
    assert "log_mse_z" not in out


def test_linear_probe_separable_and_random() -> None:
    gen = torch.Generator().manual_seed(2)
    y = torch.arange(600) % 3
    z = torch.nn.functional.one_hot(y, 3).double() * 4 + 0.3 * torch.randn(600, 3, generator=gen)
    out = linear_probe_accuracy(z[:400], y[:400], z[400:], y[400:])
    assert out["linear_probe_acc"] == pytest.approx(1.0)
    noise = torch.randn(600, 3, generator=gen)
    chance = linear_probe_accuracy(noise[:400], y[:400], noise[400:], y[400:])["linear_probe_acc"]
    assert chance < 0.5


def test_latent_diagnostics_passes_every_input_to_its_part() -> None:
    gen = torch.Generator().manual_seed(3)
    mu, logvar = torch.randn(400, 2, generator=gen), torch.randn(400, 2, generator=gen)
    sq_z = torch.rand(400, generator=gen)
    pm, pc = np.array([1.0, -0.5]), np.array([[2.0, 0.3], [0.3, 0.5]])
    out = latent_diagnostics(mu, logvar, sq_err_z=sq_z, prior_mean=pm, prior_cov=pc)
    assert out["log_mse_z"] == pytest.approx(math.log(sq_z.double().mean().item()), rel=1e-12)
    assert out["h_q_zx"] == pytest.approx(conditional_entropy(logvar), rel=1e-12)
    gaps = aggregate_posterior_gaps(mu, pm, pc)
    assert {k: out[k] for k in gaps} == pytest.approx(gaps, rel=1e-12)
    assert gaps["agg_kl_prior"] != pytest.approx(gaps["kl_z"], rel=0.1)  # the prior's moments matter
    single = aggregate_posterior_gaps(mu, pm.astype(np.float32), pc.astype(np.float32))
    assert single == aggregate_posterior_gaps(
        mu, pm.astype(np.float32).astype(float), pc.astype(np.float32).astype(float)
    )


def test_per_sample_squared_error_is_one_value_per_row() -> None:
    b = torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[4.0, 0.0], [0.0, 0.0]]])
    assert per_sample_squared_error(torch.zeros(2, 2, 2), b).tolist() == [1.0, 4.0]  # row means of b^2


def test_linear_probe_standardises_the_codes() -> None:
    """The class sits in a coordinate of scale 1e-4 next to noise of scale 100: after standardising,
    the probe separates it; an unscaled L2-regularised probe would stay at the 70 % majority rate."""
    gen = torch.Generator().manual_seed(0)
    y = (torch.arange(400) % 10 < 7).long()
    signal = 1e-4 * (2 * y - 1).double() + 1e-5 * torch.randn(400, generator=gen, dtype=torch.float64)
    z = torch.stack([signal, 1e2 * torch.randn(400, generator=gen, dtype=torch.float64)], 1)
    out = linear_probe_accuracy(z[:300], y[:300], z[300:], y[300:])
    assert out == {"linear_probe_acc": 1.0, "linear_probe_train_acc": 1.0}

"""GEN: the KDE and its Jensen-Shannon estimate, the bandwidth search, the entropy metric, and
GEN / AAE end to end through the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import gaussian_kde

from genexp.losses.kde import (
    _bandwidth_trial,
    jsd_estimate,
    kde_log_density,
    kde_log_density_from_sqdist,
    optimal_bandwidth,
)
from genexp.metrics.entropy import ml_bandwidth, normal_entropy, whitened_entropy, zca_whiten
from genexp.priors.normal import NormalPrior


def test_kde_log_density_matches_scipy_isotropic() -> None:
    gen = torch.Generator().manual_seed(0)
    centres = zca_whiten(torch.randn(200, 3, generator=gen, dtype=torch.float64))  # sample covariance = I
    z = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    h = 0.4
    ref = gaussian_kde(centres.numpy().T, bw_method=h).logpdf(z.numpy().T)  # kernel covariance h^2 * I
    np.testing.assert_allclose(kde_log_density(z, centres, h).numpy(), ref, rtol=1e-6, atol=1e-8)


def test_jsd_estimate_range() -> None:
    same = torch.zeros(10)
    assert float(jsd_estimate(same, same, same, same)) == pytest.approx(-2 * math.log(2))
    far = torch.full((10,), 50.0)
    assert float(jsd_estimate(far, -far, -far, far)) == pytest.approx(0.0, abs=1e-6)


def test_bandwidth_trial_finds_the_grid_maximum() -> None:
    gen = torch.Generator().manual_seed(1)
    draws = [torch.randn(n, 2, generator=gen, dtype=torch.float64) for n in (300, 400, 400)]
    prior = NormalPrior(2)
    it = iter(draws)
    h = _bandwidth_trial(lambda n: next(it), prior.log_prob, 300, 400, (0.02, 3.0))
    c, a, b = draws
    d1, d2 = torch.cdist(a, c).pow(2), torch.cdist(b, c).pow(2)
    grid = torch.linspace(0.05, 2.0, 400, dtype=torch.float64)
    js = [
        float(
            jsd_estimate(
                kde_log_density_from_sqdist(d1, float(g), 2),
                prior.log_prob(a),
                kde_log_density_from_sqdist(d2, float(g), 2),
                prior.log_prob(b),
            )
        )
        for g in grid
    ]
    assert h == pytest.approx(float(grid[int(np.argmax(js))]), abs=0.01)


def test_optimal_bandwidth_near_paper_table1() -> None:
    torch.manual_seed(0)
    prior = NormalPrior(5)
    h, hs = optimal_bandwidth(lambda n: prior.sample(n).double(), prior.log_prob, 1000, n_eval=1000, trials=2)
    assert len(hs) == 2
    assert h == pytest.approx(0.55, abs=0.05)  # paper Table 1: l = 5, m = 1000


def test_whitened_entropy_of_normal_sample() -> None:
    torch.manual_seed(0)
    z = torch.randn(600, 2, dtype=torch.float64) * torch.tensor([3.0, 0.2]) + 5
    ent, h = whitened_entropy(z)
    # h is the leave-one-out ML fixed point h^2 = sum_i sum_{j != i} w_ij |z_i - z_j|^2 / (d n), with
    # w_i. the softmax of -|z_i - z_j|^2 / (2 h^2) over j != i (supplement Eq. 5)
    w = zca_whiten(z)
    d2 = torch.cdist(w, w).pow(2)
    d2.fill_diagonal_(float("inf"))
    h_conv = ml_bandwidth(w, iters=2000)
    weights = torch.softmax(-d2 / (2 * h_conv**2), dim=1)
    fixed_point = float((weights * d2.nan_to_num(posinf=0.0)).sum()) / (2 * 600)
    assert h_conv**2 == pytest.approx(fixed_point, rel=1e-5)
    loo = torch.logsumexp(-d2 / (2 * h * h), dim=1) - math.log(599) - math.log(2 * math.pi * h * h)
    assert ent == pytest.approx(-float(loo.mean()), rel=1e-9)
    assert ent == pytest.approx(normal_entropy(2), abs=0.15)


@pytest.mark.parametrize("model", ["gen", "aae"])
def test_model_end_to_end(genexp_cli, model: str) -> None:
    """A CLI smoke test; GEN's bandwidth for l = 3, m = 1000 must lie between paper Table 1's
    l = 2 and l = 5 entries at m = 1000 (0.38 and 0.55, each +-0.03)."""
    run = genexp_cli(
        f"model={model}",
        "dataset=digits",
        "trainer=smoke",
        "logger=none",
        "metric=none",
        "model.latent_dim=3",
        "model.encoder.hidden=[32]",
        "model.decoder.hidden=[32]",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["test/recon_mse"] > 0
    if model == "gen":
        assert 0.35 < metrics["gen/bandwidth"] < 0.58
        assert metrics["gen/stationary_var"] == pytest.approx(1 - metrics["gen/bandwidth"] ** 2)


def test_gen_with_latent_entropy_metric(genexp_cli) -> None:
    run = genexp_cli(
        "model=gen",
        "dataset=digits",
        "trainer=smoke",
        "logger=none",
        "metric=latent_entropy",
        "metric.latent_entropy.n=300",
        "model.latent_dim=2",
        "model.kde_size=200",
        "model.refresh_every=1",
        "model.encoder.hidden=[32]",
        "model.decoder.hidden=[32]",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["test/latent_entropy_normal_ref"] == pytest.approx(normal_entropy(2), abs=0.3)
    assert "test/latent_stationary_var" in metrics and "test/latent_var_mean" in metrics

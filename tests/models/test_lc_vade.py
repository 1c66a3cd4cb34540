"""LC-VaDE: GP conditioning, closed-form ELBO terms vs Monte Carlo, the IAS on hand-made
responsibilities, the baselines' losses and scores, and the model through the CLI."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from genexp.data.lightcurves import SyntheticLightCurves
from genexp.losses.clustering import expected_component_log_prob
from genexp.losses.likelihoods import gaussian_cross_entropy
from genexp.models.lc_baselines import LCEnergyGMM, LCVAEBaseline
from genexp.models.lc_vade import LCVaDE
from genexp.nets.lc_gp_decoder import AmortisedGPDecoder, gp_condition
from genexp.nets.lc_interp_encoder import InterpolationEncoder
from genexp.priors.gmm import GMMPrior


def test_gp_conditioning_matches_dense_computation() -> None:
    gen = torch.Generator().manual_seed(0)
    t_ind = torch.tensor([[0.2, 0.4, 0.6, 0.8]], dtype=torch.float64)
    t_obs = torch.tensor([[0.1, 0.3, 0.55, 0.9, 0.4]], dtype=torch.float64)
    mu_ind = torch.randn(1, 4, generator=gen, dtype=torch.float64)
    std_ind = torch.tensor([[0.1, 0.2, 0.3, 0.05]], dtype=torch.float64)
    scale, length = torch.tensor([1.7], dtype=torch.float64), torch.tensor([0.15], dtype=torch.float64)
    mean, std = gp_condition(t_obs, t_ind, mu_ind, std_ind, scale, length, var_floor=0.0, jitter=0.0)

    def k(a, b):
        return 1.7**2 * torch.exp(-((a[:, None] - b[None, :]) ** 2) / (2 * 0.15**2))

    k_ii = k(t_ind[0], t_ind[0]) + torch.diag(std_ind[0] ** 2)
    k_oi = k(t_obs[0], t_ind[0])
    dense_mean = k_oi @ torch.linalg.inv(k_ii) @ mu_ind[0]
    dense_cov = k(t_obs[0], t_obs[0]) - k_oi @ torch.linalg.inv(k_ii) @ k_oi.T
    torch.testing.assert_close(mean[0], dense_mean)
    torch.testing.assert_close(std[0] ** 2, torch.diagonal(dense_cov))
    _, floored = gp_condition(
        t_ind, t_ind, mu_ind, torch.full_like(std_ind, 1e-4), scale, length, var_floor=0.01
    )
    assert (floored >= 0.1 - 1e-9).all()  # the variance floor


def test_expected_component_log_prob_matches_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(2, 3, generator=gen), torch.randn(2, 3, generator=gen) * 0.3
    means, logvars = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen) * 0.3
    z = mu + (0.5 * logvar).exp() * torch.randn(200_000, 2, 3, generator=gen)
    comp = -0.5 * ((z.unsqueeze(2) - means) ** 2 / logvars.exp() + logvars + math.log(2 * math.pi)).sum(-1)
    torch.testing.assert_close(
        expected_component_log_prob(mu, logvar, means, logvars), comp.mean(0), atol=0.03, rtol=0.01
    )


def test_gaussian_cross_entropy_matches_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(2)
    obs_m, obs_s = torch.randn(2, 5, generator=gen), torch.rand(2, 5, generator=gen) + 0.1
    pred_m, pred_s = torch.randn(2, 5, generator=gen), torch.rand(2, 5, generator=gen) + 0.3
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)
    x = obs_m + obs_s * torch.randn(200_000, 2, 5, generator=gen)
    nll = 0.5 * math.log(2 * math.pi) + pred_s.log() + (x - pred_m) ** 2 / (2 * pred_s**2)
    torch.testing.assert_close(
        gaussian_cross_entropy(obs_m, obs_s, pred_m, pred_s, mask),
        (nll.mean(0) * mask).sum(-1),
        atol=0.02,
        rtol=0.01,
    )


def tiny_model(cls=LCVaDE, **kwargs):
    """A small light-curve model on (5, 50) curves with K = 4 inlier classes."""
    prior = partial(GMMPrior, num_components=4) if cls is LCVaDE else None
    return cls(
        data_shape=(5, 50),
        encoder=partial(InterpolationEncoder, num_ref=16, channels=[4, 4]),
        decoder=partial(AmortisedGPDecoder, num_inducing=8, channels=[4, 4], kernel_hidden=8),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        num_classes=4,
        latent_dim=4,
        prior=prior,
        **kwargs,
    )


def test_information_score_on_hand_made_responsibilities() -> None:
    model = tiny_model()
    with torch.no_grad():
        model.prior.means.copy_(torch.tensor([[0.0] * 4, [1.0] * 4, [5.0] * 4, [-5.0] * 4]))
        model.prior.logvars.zero_()
    mu, logvar = torch.tensor([[0.5] * 4]), torch.full((1, 4), math.log(0.25))
    gamma = torch.tensor([[0.3, 0.7, 0.0, 0.0]])  # far components get no weight
    model.encode_distribution = lambda x: (mu, logvar)
    model.log_joint = lambda z, f: gamma.clamp_min(1e-30).log()
    # E ln N(z; m, 1) per dim = -1/2 (ln 2pi + 0.25 + 0.25) for both components (|0.5 - m| = 0.5)
    expected = 4 * -0.5 * (math.log(2 * math.pi) + 0.5)
    entropy = 4 * 0.5 * math.log(2 * math.pi * math.e * 0.25)
    ias = model.information_score(torch.zeros(1, 5, 50))
    assert ias.item() == pytest.approx(0.3 * expected + 0.7 * expected + entropy, abs=1e-5)
    assert model.anomaly_score(torch.zeros(1, 5, 50)).item() == pytest.approx(-ias.item(), abs=1e-6)
    gamma2 = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    model.log_joint = lambda z, f: gamma2.clamp_min(1e-30).log()
    mu2 = torch.tensor([[0.0, 0.0, 0.0, 2.0]])  # component 0 at distance 2 in one dimension
    model.encode_distribution = lambda x: (mu2, logvar)
    ias2 = model.information_score(torch.zeros(1, 5, 50))
    assert ias2.item() == pytest.approx(
        4 * -0.5 * (math.log(2 * math.pi) + 0.25) - 0.5 * 4 + entropy, abs=1e-4
    )


@pytest.mark.parametrize("cls", [LCVaDE, LCVAEBaseline, LCEnergyGMM])
def test_models_train_a_step_and_score(cls) -> None:
    torch.manual_seed(0)
    dm = SyntheticLightCurves(
        name="lc",
        shape=[5, 50],
        num_classes=5,
        num_inlier_classes=4,
        n_per_class=6,
        min_len=20,
        outlier_class="delta_scuti",
    )
    dm.setup()
    x, y = dm.get_data("train")
    model = tiny_model(cls)
    parts = model.losses(x, y)
    assert torch.isfinite(parts["loss"])
    parts["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    xt, _ = dm.get_data("test")
    score = model.anomaly_score(xt)
    assert score.shape == (len(xt),) and torch.isfinite(score).all()
    assert model.reconstruct(xt).shape == xt.shape and model.sample(3).shape == (3, 5, 50)
    assert model.encode(model.decode(model.prior.sample(2))).shape == (2, 4)  # latent round trip


def test_lc_vade_through_the_cli(genexp_cli) -> None:
    """A smoke test of the experiment from the command line (protocol and files); the AUROC/AUPRC
    values are checked against scikit-learn in tests/callbacks/test_metric_values.py."""
    run = genexp_cli(
        "experiment=lc_vade_synthetic",
        "dataset.outlier_class=delta_scuti",
        "dataset.n_per_class=20",
        "dataset.batch_size=16",
        "trainer=smoke",
        "logger=none",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    m = run.metrics()
    assert {"test/auroc", "test/auprc"} <= set(m)
    assert m["test/anomaly_protocol"]["n_outliers"] == 20 and m["test/anomaly_protocol"]["n_inliers"] == 20
    assert "test/recon_ce_first" in m and "test/sigma_corr" in m
    assert (run.run_dir / "samples" / "lightcurves_band.png").exists()

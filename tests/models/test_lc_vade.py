"""LC-VaDE: GP conditioning, closed-form ELBO terms vs Monte Carlo, the IAS on hand-made
responsibilities and its two terms, the §L nets (shapes, conditioning, one optimizer step), the
class-statistics start of the priors, the baselines' losses and scores, and the model through the CLI."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from genexp.data.lightcurve_packing import unpack
from genexp.data.lightcurves import SyntheticLightCurves
from genexp.errors import ConfigError
from genexp.losses.clustering import expected_component_log_prob
from genexp.losses.likelihoods import gaussian_cross_entropy
from genexp.models.lc_baselines import LCEnergyGMM, LCVAEBaseline
from genexp.models.lc_vade import LCVaDE
from genexp.nets.lc_conv1d import ConditionalBatchNorm1d, DownBlock1d
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


def tiny_curves(n_per_class: int = 6) -> SyntheticLightCurves:
    """Synthetic (5, 50) curves with delta_scuti held out, set up."""
    dm = SyntheticLightCurves(
        name="lc",
        shape=[5, 50],
        num_classes=5,
        num_inlier_classes=4,
        n_per_class=n_per_class,
        min_len=20,
        outlier_class="delta_scuti",
    )
    dm.setup()
    return dm


def test_the_section_l_nets_have_their_shapes_conditioning_and_spectral_norm() -> None:
    torch.manual_seed(0)
    x, _ = tiny_curves().get_data("train")
    enc = InterpolationEncoder((5, 50), 8, num_ref=16, channels=[6, 6, 6, 6])
    assert len(enc.blocks) == 4 and isinstance(enc.blocks[0], DownBlock1d) and enc.blocks[0].first
    out = enc(x)
    assert out.shape == (len(x), 8) and torch.isfinite(out).all()
    assert hasattr(enc.head, "parametrizations")  # spectral norm on the head (and every conv)
    dec = AmortisedGPDecoder(6, num_inducing=8, kernel_dim=2, channels=[5, 5, 5], kernel_hidden=7)
    z = torch.randn(len(x), 6)
    p = dec(z)
    assert p["mu_ind"].shape == p["std_ind"].shape == (len(x), 8) and (p["std_ind"] > 0).all()
    assert ((0 < p["scale"]) & (p["scale"] < 10)).all() and ((0 < p["length"]) & (p["length"] < 1 / 8)).all()
    assert dec.scale_net[0].out_features == 7
    mean, std = dec.predict(z, unpack(x).t)
    assert mean.shape == std.shape == (len(x), 50) and torch.isfinite(mean).all() and (std > 0).all()
    # every up block's BatchNorm is driven by z_rep through its own linear pair: the gain and bias
    # maps see z_rep (4 units), and a different z_rep changes the normalised features
    cbn = dec.blocks[0].bn1
    assert isinstance(cbn, ConditionalBatchNorm1d) and cbn.gain.in_features == 4
    h = torch.randn(len(x), 5, 3)
    assert not torch.allclose(cbn(h, z[:, :4]), cbn(h, torch.zeros(len(x), 4)))
    with pytest.raises(ConfigError):
        InterpolationEncoder((5, 50), 8, num_ref=12, channels=[4, 4, 4])  # 12 is not divisible by 2^3


@pytest.mark.parametrize("cls", [LCVaDE, LCVAEBaseline, LCEnergyGMM])
def test_models_train_a_step_and_score(cls) -> None:
    torch.manual_seed(0)
    dm = tiny_curves()
    x, y = dm.get_data("train")
    model = tiny_model(cls)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = model.configure_optimizers()
    parts = model.losses(x, y)
    assert torch.isfinite(parts["loss"])
    parts["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    optimizer.step()
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith("encoder.") for n in moved) and any(n.startswith("decoder.") for n in moved)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    xt, _ = dm.get_data("test")
    score = model.anomaly_score(xt)
    assert score.shape == (len(xt),) and torch.isfinite(score).all()
    assert model.reconstruct(xt).shape == xt.shape and model.sample(3).shape == (3, 5, 50)
    assert model.encode(model.decode(model.prior.sample(2))).shape == (2, 4)  # latent round trip


def test_the_ias_terms_sum_to_the_score_and_are_minus_the_expected_kl() -> None:
    torch.manual_seed(0)
    x, _ = tiny_curves().get_data("test")
    model = tiny_model().eval()
    with torch.no_grad():
        terms = model.information_terms(x)
        torch.testing.assert_close(terms["cross"] + terms["entropy"], model.information_score(x))
        negated = model.anomaly_score_terms(x)
        torch.testing.assert_close(negated["cross"] + negated["entropy"], model.anomaly_score(x))
        # IAS = -sum_k gamma_k KL(q(z|x) || p(z|y=k)), with the KL from torch.distributions
        mu, logvar = model.encode_distribution(x)
        gamma = model.responsibilities(x)
        q = torch.distributions.Normal(mu.unsqueeze(1), (0.5 * logvar).exp().unsqueeze(1))
        p = torch.distributions.Normal(model.prior.means, (0.5 * model.prior.clamped_logvars).exp())
        kl = torch.distributions.kl_divergence(q, p).sum(-1)  # n, K
        torch.testing.assert_close(model.information_score(x), -(gamma * kl).sum(-1), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(terms["entropy"], 0.5 * (1 + math.log(2 * math.pi) + logvar).sum(-1))


def test_the_prior_start_is_the_class_statistics_of_codes_and_side_features() -> None:
    torch.manual_seed(0)
    x, y = tiny_curves(n_per_class=8).get_data("train")
    model = tiny_model()
    info = model.fit_class_priors(x, y)
    model.eval()
    with torch.no_grad():
        codes, f = model.encode(x).numpy(), unpack(x).f.numpy()
        logvar = model.encode_distribution(x)[1]
    # q(z|x) starts as wide as the classes: mean log-variance = ln(mean class variance) per dimension
    class_var = torch.stack([torch.tensor(codes[(y == k).numpy()].var(0)) for k in range(4)]).mean(0)
    torch.testing.assert_close(logvar.mean(0), class_var.log(), atol=1e-4, rtol=1e-4)
    for k in range(4):  # p(z|y=k), p(f|y=k) = the ML Gaussian of class k's encoder means / features
        rows = (y == k).numpy()
        assert rows.sum() == 6  # 8 curves, 2 of them in the test split
        torch.testing.assert_close(model.prior.means[k], torch.tensor(codes[rows].mean(0)))
        torch.testing.assert_close(
            model.prior.logvars[k].exp(), torch.tensor(codes[rows].var(0)), rtol=1e-4, atol=1e-7
        )
        torch.testing.assert_close(model.feature_prior.means[k], torch.tensor(f[rows].mean(0)))
        torch.testing.assert_close(
            model.feature_prior.logvars[k].exp(), torch.tensor(f[rows].var(0)), rtol=1e-4, atol=1e-7
        )
    assert info["z_std"] == pytest.approx(float(model.prior.logvars.detach().mul(0.5).exp().mean()), rel=1e-5)
    assert 0.0 <= info["train_acc"] <= 1.0
    empty = y.clone()
    empty[empty == 2] = 1  # no curve of class 2 left
    with pytest.raises(ConfigError, match="class 2 has no training rows"):
        tiny_model().fit_class_priors(x, empty)


def test_lc_vade_through_the_cli(genexp_cli) -> None:
    """A smoke test of the experiment from the command line (protocol and files); the AUROC/AUPRC
    values are checked against scikit-learn in tests/callbacks/test_metric_values.py."""
    run = genexp_cli(
        "experiment=lc_vade_synthetic",
        "dataset.outlier_class=delta_scuti",
        "dataset.n_per_class=20",
        "dataset.batch_size=16",
        "model.pretrain_epochs=1",
        "trainer=smoke",
        "logger=none",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    m = run.metrics()
    assert {"test/auroc", "test/auprc"} <= set(m)
    assert m["test/anomaly_protocol"]["n_outliers"] == 20 and m["test/anomaly_protocol"]["n_inliers"] == 20
    assert "test/recon_ce_first" in m and "test/sigma_corr" in m
    assert {"test/auroc_cross", "test/auroc_entropy", "test/auprc_cross"} <= set(m)  # IAS's terms alone
    assert m["stage/pretrain/steps"] >= 1 and "stage/prior_init/train_acc" in m
    shifts = [m[f"prior/z_mean_shift_{c}"] for c in ("rr_lyrae_fm", "rr_lyrae_fo", "beta_persei", "w_uma")]
    assert m["prior/z_mean_shift_max"] == pytest.approx(max(shifts)) and m["prior/z_mean_shift_max"] > 0
    assert "prior/f_logvar_change_w_uma" in m
    assert (run.run_dir / "stages" / "prior_init.pt").exists()
    assert (run.run_dir / "samples" / "lightcurves_band.png").exists()

"""The training loss of every VAE-family model (vae, beta_vae, jsvae, ikl_vae, fkl_vae, wvae,
mmdvae) equals the objective rebuilt by hand from :mod:`genexp.losses` / :mod:`genexp.priors`
(thesis spec §A.1-A.4): L = NLL(x | z~) + beta * R, z~ = mu + sigma * eps, on tiny fixed nets and
inputs where every term is non-zero and of a different size; and one optimiser step lowers it."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from helpers.objectives import assert_terms_distinct
from omegaconf import OmegaConf

from genexp.config import CONFIG_DIR
from genexp.losses.divergences import (
    batch_gaussian,
    js_gaussians,
    kl_gaussians,
    mmd2_unbiased,
    w2_squared_gaussians,
)
from genexp.losses.gaussian import diag_gaussian_log_prob, kl_diag_to_standard_normal
from genexp.losses.likelihoods import bernoulli_nll, gaussian_nll
from genexp.models.jsvae import JSVAE
from genexp.models.mmdvae import MMDVAE
from genexp.models.vae import VAE
from genexp.models.wvae import WVAE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.priors import GMMPrior

N, D, J = 12, 6, 3


def build(cls: type, **kwargs):
    """A model on (6,)-vectors with 3 latent dimensions and small MLP nets (SGD, lr 0.01)."""
    torch.manual_seed(0)
    args = dict(
        data_shape=(D,),
        latent_dim=J,
        encoder=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        decoder=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
        optimizer=functools.partial(torch.optim.SGD, lr=0.01),
    )
    args.update(kwargs)
    return cls(**args)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed inputs, shifted and scaled so the codes' batch Gaussian is far from N(0, I)."""
    g = torch.Generator().manual_seed(1)
    return torch.randn(N, D, generator=g) * 1.5 + 0.7, torch.zeros(N, dtype=torch.long)


def posterior(model, x: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mu, logvar, z~) with z~ drawn as the model draws it after ``torch.manual_seed(seed)``."""
    mu, logvar = model.encoder(x).chunk(2, dim=1)
    logvar = logvar.clamp(-30.0, 20.0)
    torch.manual_seed(seed)
    eps = torch.randn(x.shape[0], model.latent_dim)
    return mu, logvar, mu + (0.5 * logvar).exp() * eps


def model_loss(model, x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return model.training_step((x, y), 0)


def check(model, x, y, nll: torch.Tensor, reg: torch.Tensor, seed: int = 7) -> None:
    """The training loss is nll + beta * reg, each term matters, and one small SGD step of the model's
    optimiser (lr 1e-4: first order) lowers it at the same noise."""
    beta = model.beta
    assert_terms_distinct({"nll": nll, "beta*reg": beta * reg})
    expected = nll + beta * reg
    got = model_loss(model, x, y, seed)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    opt = model.configure_optimizers()
    for group in opt.param_groups:
        group["lr"] = 1e-4
    opt.zero_grad()
    got.backward()
    opt.step()
    assert float(model_loss(model, x, y, seed).detach()) < float(got.detach())


def gaussian_terms(model, x, seed: int = 7):
    mu, logvar, z = posterior(model, x, seed)
    return mu, logvar, z, gaussian_nll(x, model.decoder(z), model.obs_std).mean()


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_vae_loss_is_gaussian_nll_plus_beta_closed_form_kl(beta: float) -> None:
    model = build(VAE, beta=beta, obs_std=0.6)
    x, y = batch()
    mu, logvar, z, nll = gaussian_terms(model, x)
    check(model, x, y, nll, kl_diag_to_standard_normal(mu, logvar).mean())


def test_vae_with_a_mixture_prior_uses_the_one_sample_kl_at_the_drawn_code() -> None:
    model = build(VAE, beta=2.0, prior=functools.partial(GMMPrior, num_components=3, mean_scale=2.0))
    x, y = batch()
    mu, logvar, z, nll = gaussian_terms(model, x)
    kl = (diag_gaussian_log_prob(z, mu, logvar) - model.prior.log_prob(z)).mean()
    check(model, x, y, nll, kl)


def test_bernoulli_vae_rescales_the_data_to_zero_one() -> None:
    model = build(VAE, beta=3.0, likelihood="bernoulli", value_range=(-1.0, 1.0))
    x = torch.rand(N, D, generator=torch.Generator().manual_seed(3)) * 2 - 1
    mu, logvar, z = posterior(model, x, 7)
    nll = bernoulli_nll((x + 1) / 2, model.decoder(z)).mean()
    check(model, x, torch.zeros(N, dtype=torch.long), nll, kl_diag_to_standard_normal(mu, logvar).mean())


def test_vae_test_elbo_is_minus_nll_minus_kl_at_beta_one_whatever_the_training_beta() -> None:
    model = build(VAE, beta=4.0, obs_std=0.6)
    x, _ = batch()
    mu, logvar, z, nll = gaussian_terms(model, x, seed=3)
    kl = kl_diag_to_standard_normal(mu, logvar).mean()
    torch.manual_seed(3)
    values = model.test_values(x)
    torch.testing.assert_close(values["test/elbo"], -(nll + kl), rtol=1e-5, atol=1e-5)
    assert float(values["test/loss"].detach()) == pytest.approx(float((nll + 4.0 * kl).detach()), rel=1e-5)


MARGINAL = [
    ("wvae", WVAE, {}, lambda m, s: w2_squared_gaussians(m, s)),
    ("jsvae", JSVAE, {}, lambda m, s: js_gaussians(m, s, method="moment_matched")),
    (
        "jsvae_skl",
        JSVAE,
        {"js_method": "symmetric_kl"},
        lambda m, s: js_gaussians(m, s, method="symmetric_kl"),
    ),
    ("ikl_vae", JSVAE, {"divergence": "ikl"}, lambda m, s: kl_gaussians(m, s)),
    ("fkl_vae", JSVAE, {"divergence": "fkl"}, lambda m, s: kl_gaussians(None, None, m, s)),
]


@pytest.mark.parametrize("name,cls,kwargs,divergence", MARGINAL, ids=[m[0] for m in MARGINAL])
def test_marginal_models_penalise_the_batch_gaussian_of_the_posterior_means(
    name: str, cls: type, kwargs: dict, divergence
) -> None:
    model = build(cls, beta=2.5, **kwargs)
    x, y = batch()
    mu, logvar, z, nll = gaussian_terms(model, x)
    reg = divergence(*batch_gaussian(mu.double())).float()
    from_samples = divergence(*batch_gaussian(z.double())).float()
    assert abs(float((reg - from_samples).detach())) > 1e-2  # the means, not the drawn codes, are what counts
    check(model, x, y, nll, reg)


def test_monte_carlo_js_draws_after_the_code() -> None:
    model = build(JSVAE, beta=2.5, js_method="monte_carlo", mc_samples=64)
    x, y = batch()
    mu, logvar, z, nll = gaussian_terms(model, x)
    torch.manual_seed(7)
    torch.randn(N, J)  # the reparameterised draw comes first
    m, s = batch_gaussian(mu.double())
    reg = js_gaussians(m, s, method="monte_carlo", n_samples=64).float()
    check(model, x, y, nll, reg)


@pytest.mark.parametrize("kernel,scale", [("rbf", None), ("imq", 0.7)])
def test_mmdvae_compares_drawn_codes_with_as_many_prior_draws(kernel: str, scale) -> None:
    model = build(MMDVAE, beta=30.0, kernel=kernel, kernel_scale=scale)
    x, y = batch()
    mu, logvar, z, nll = gaussian_terms(model, x)
    torch.manual_seed(7)
    torch.randn(N, J)  # z~ first, then the prior draws
    prior_draws = torch.randn(N, J)
    check(model, x, y, nll, mmd2_unbiased(z, prior_draws, kernel, scale))


def test_beta_vae_and_the_marginal_yamls_feed_the_spec_values() -> None:
    load = lambda name: OmegaConf.load(CONFIG_DIR / "model" / f"{name}.yaml")  # noqa: E731
    assert load("vae").beta == 1.0 and load("beta_vae").beta == 4.0
    assert load("vae").obs_std == pytest.approx(math.sqrt(0.5))  # NLL = per-sample SSE + const (§A)
    assert load("ikl_vae").divergence == "ikl" and load("fkl_vae").divergence == "fkl"
    assert load("jsvae").divergence == "js" and load("jsvae").js_method == "moment_matched"
    assert load("mmdvae").kernel == "rbf" and load("mmdvae").kernel_scale is None

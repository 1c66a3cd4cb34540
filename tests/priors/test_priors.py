"""Priors against scipy's densities and their own sampling moments."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from genexp.errors import ConfigError
from genexp.priors import GMMPrior, NormalPrior


def test_normal_prior_log_prob_matches_scipy() -> None:
    prior = NormalPrior(3)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    ref = multivariate_normal(np.zeros(3), np.eye(3)).logpdf(z.numpy())
    assert np.allclose(prior.log_prob(z).numpy(), ref, atol=1e-5)
    assert prior.sample(7).shape == (7, 3)
    assert torch.equal(prior.responsibilities(z), torch.ones(5, 1))


def _scipy_mixture(prior: GMMPrior, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = prior.weights.detach().numpy()
    comps = np.stack(
        [
            multivariate_normal(m, np.diag(np.exp(lv))).pdf(z)
            for m, lv in zip(prior.means.detach().numpy(), prior.clamped_logvars.detach().numpy())
        ],
        axis=1,
    )
    joint = comps * w
    return np.log(joint.sum(1)), joint / joint.sum(1, keepdims=True)


def test_gmm_log_prob_and_responsibilities_match_scipy() -> None:
    prior = GMMPrior(dim=2, num_components=3, learn_weights=True, seed=1)
    with torch.no_grad():
        prior.logvars.copy_(torch.tensor([[0.0, -1.0], [0.5, 0.2], [-0.3, 0.1]]))
        prior.logits.copy_(torch.tensor([0.1, 0.7, -0.4]))
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(2)) * 2
    log_p, resp = _scipy_mixture(prior, z.double().numpy())
    assert np.allclose(prior.log_prob(z).detach().numpy(), log_p, atol=1e-4)
    assert np.allclose(prior.responsibilities(z).detach().numpy(), resp, atol=1e-5)


def test_gmm_sampling_moments_match_moment_formula() -> None:
    torch.manual_seed(0)
    prior = GMMPrior(dim=2, num_components=4, init="normal", mean_scale=3.0, seed=3)
    samples = prior.sample(200_000).detach()
    mean, cov = prior.gaussian_moments()
    assert torch.allclose(samples.mean(0), mean.detach(), atol=0.03)
    assert torch.allclose(torch.cov(samples.T), cov.detach(), atol=0.08)


def test_gmm_orthogonal_means_and_learnable_flags() -> None:
    prior = GMMPrior(dim=10, num_components=10, learn_logvars=False)
    gram = prior.means @ prior.means.T
    off = gram - torch.diag(torch.diag(gram))
    assert off.abs().max() < 1e-4
    assert prior.means.requires_grad and not prior.logvars.requires_grad and not prior.logits.requires_grad


@pytest.mark.parametrize("kwargs", [{"num_components": 0}, {"dim": 0}, {"init": "zeros"}])
def test_gmm_rejects_impossible_values(kwargs: dict) -> None:
    args = {"dim": 2, "num_components": 3} | kwargs
    with pytest.raises(ConfigError):
        GMMPrior(**args)


# -- the divergences the priors support -----------------------------------------------------------
def _posterior(n: int = 4, dim: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen), torch.randn(n, dim, generator=gen) * 0.5


def _monte_carlo_kl(prior, mu: torch.Tensor, logvar: torch.Tensor, draws: int = 200_000) -> torch.Tensor:
    """E_q[log q(z) - log p(z)] per row from ``draws`` samples of q."""
    gen = torch.Generator().manual_seed(1)
    std = (0.5 * logvar).exp().double()
    z = mu.double() + std * torch.randn(draws, *mu.shape, generator=gen, dtype=torch.float64)
    log_q = -0.5 * (((z - mu.double()) / std).pow(2) + logvar.double() + np.log(2 * np.pi)).sum(-1)
    log_p = copy.deepcopy(prior).double().log_prob(z.reshape(-1, mu.shape[1])).reshape(draws, -1)
    return (log_q - log_p).mean(0).float()


def test_normal_prior_kl_is_the_closed_form_and_matches_monte_carlo() -> None:
    from genexp.losses.gaussian import kl_diag_to_standard_normal

    prior = NormalPrior(3)
    mu, logvar = _posterior()
    kl = prior.kl_from(mu, logvar, torch.zeros_like(mu))  # closed form: z is not used
    assert torch.equal(kl, kl_diag_to_standard_normal(mu, logvar))
    assert torch.allclose(kl, _monte_carlo_kl(prior, mu, logvar), atol=0.02)
    assert prior.is_standard_normal


def test_gmm_prior_kl_is_the_one_sample_estimate_and_unbiased() -> None:
    from genexp.losses.gaussian import diag_gaussian_log_prob, reparameterize

    prior = GMMPrior(dim=3, num_components=4, init="normal", mean_scale=1.5, seed=2)
    mu, logvar = _posterior()
    z = reparameterize(mu, logvar)
    kl = prior.kl_from(mu, logvar, z)
    assert torch.equal(kl, diag_gaussian_log_prob(z, mu, logvar) - prior.log_prob(z))  # the old formula
    assert not prior.is_standard_normal
    torch.manual_seed(0)
    many = torch.stack([prior.kl_from(mu, logvar, reparameterize(mu, logvar)) for _ in range(20_000)])
    assert torch.allclose(many.mean(0).detach(), _monte_carlo_kl(prior, mu, logvar), atol=0.05)


def test_one_component_unit_gmm_kl_estimates_the_normal_closed_form() -> None:
    gmm = GMMPrior(dim=3, num_components=1, learn_means=False)
    with torch.no_grad():
        gmm.means.zero_()
    mu, logvar = _posterior()
    assert torch.allclose(_monte_carlo_kl(gmm, mu, logvar), NormalPrior(3).kl_from(mu, logvar, mu), atol=0.02)


def test_shrunk_samples_have_the_reduced_variance() -> None:
    torch.manual_seed(0)
    shrunk = NormalPrior(2).sample_shrunk(100_000, 0.36)
    assert torch.allclose(shrunk.var(0), torch.full((2,), 0.64), atol=0.02)
    assert NormalPrior(2).sample_shrunk(5, 2.0).abs().max() == 0
    gmm = GMMPrior(dim=2, num_components=1, learn_means=False, init_logvar=0.0)
    z = gmm.sample_shrunk(100_000, 0.36).detach()
    assert torch.allclose(z.var(0), torch.full((2,), 0.64), atol=0.02)
    assert torch.allclose(z.mean(0), gmm.means[0].detach(), atol=0.02)


def test_shrunk_samples_equal_gens_former_formulas() -> None:
    from genexp.priors.floored_gmm import FlooredGMMPrior

    h2 = 0.3**2
    torch.manual_seed(3)
    old = NormalPrior(4).sample(6) * math.sqrt(max(1.0 - h2, 0.0))
    torch.manual_seed(3)
    assert torch.equal(NormalPrior(4).sample_shrunk(6, h2), old)
    for prior in (GMMPrior(dim=4, num_components=3, seed=1), FlooredGMMPrior(dim=4, num_components=3)):
        torch.manual_seed(3)
        _, k = prior.sample_with_components(6)
        std = (prior.clamped_logvars.exp() - h2).clamp_min(1e-6).sqrt()
        old = prior.means[k] + std[k] * torch.randn(6, 4, device=std.device)
        torch.manual_seed(3)
        assert torch.equal(prior.sample_shrunk(6, h2), old)


def test_build_prior_accepts_none_a_factory_and_an_instance() -> None:
    from genexp.priors import build_prior

    assert isinstance(build_prior(None, 4), NormalPrior) and build_prior(None, 4).dim == 4
    assert build_prior(lambda dim: GMMPrior(dim, 2), 5).means.shape == (2, 5)
    given = GMMPrior(3, 2)
    assert build_prior(given, 3) is given


def test_normal_prior_follows_its_module_and_keeps_no_state() -> None:
    prior = NormalPrior(3)
    assert "_anchor" not in prior.state_dict()  # nothing to save: old checkpoints load strictly
    assert prior.to("meta").sample(2).device.type == "meta"
    z = torch.zeros(4, 3, dtype=torch.float64, device="meta")
    resp = prior.responsibilities(z)
    assert resp.shape == (4, 1) and resp.dtype == torch.float64 and resp.device.type == "meta"


def test_normal_prior_moments_are_zero_and_identity() -> None:
    mean, cov = NormalPrior(3).gaussian_moments()
    assert torch.equal(mean, torch.zeros(3)) and torch.equal(cov, torch.eye(3))

"""Priors against scipy's densities and their own sampling moments."""

from __future__ import annotations

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

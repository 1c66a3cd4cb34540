"""GMMPrior (genexp.priors.gmm): its defaults equal the shipped configs/prior/gmm.yaml, the circle
and normal initialisations, the component variances used when sampling, and its config errors."""

from __future__ import annotations

import math

import pytest
import torch

from genexp.errors import ConfigError
from genexp.priors import GMMPrior


def test_defaults_are_the_shipped_prior_config() -> None:
    """K = 10, learnable means and log-variances, unit-scale orthogonal means, std floor 1e-3."""
    prior = GMMPrior(dim=12)
    assert prior.num_components == 10 and prior.means.shape == (10, 12) and prior.min_std == 1e-3
    assert prior.means.requires_grad and prior.logvars.requires_grad and not prior.logits.requires_grad
    # orthonormal rows scaled by mean_scale * sqrt(dim) with mean_scale = 1
    torch.testing.assert_close(prior.means.norm(dim=1), torch.full((10,), math.sqrt(12)))
    with torch.no_grad():
        prior.logvars.fill_(-30.0)
    torch.testing.assert_close(prior.clamped_logvars, torch.full((10, 12), 2 * math.log(1e-3)))


def test_circle_means_sit_at_angles_two_pi_k_over_k() -> None:
    prior = GMMPrior(dim=3, num_components=6, init="circle", mean_scale=2.0)
    angles = [2 * math.pi * k / 6 for k in range(6)]
    # computed in float64, then stored as float32
    expected = torch.tensor(
        [[2.0 * math.cos(a), 2.0 * math.sin(a), 0.0] for a in angles], dtype=torch.float64
    )
    assert torch.equal(prior.means, expected.float())
    assert GMMPrior(dim=2, num_components=4, init="circle").means.shape == (4, 2)


def test_normal_means_scale_with_mean_scale() -> None:
    one = GMMPrior(dim=3, num_components=4, init="normal", mean_scale=1.0, seed=5).means
    two = GMMPrior(dim=3, num_components=4, init="normal", mean_scale=2.0, seed=5).means
    torch.testing.assert_close(two, 2.0 * one)


def test_samples_have_each_components_variance() -> None:
    torch.manual_seed(0)
    prior = GMMPrior(dim=2, num_components=1, init="normal", init_logvar=math.log(4.0), learn_means=False)
    z = prior.sample(20_000)
    torch.testing.assert_close(z.var(0), torch.full((2,), 4.0), rtol=0.05, atol=0.0)


def test_one_dimension_is_enough_except_for_the_circle() -> None:
    assert GMMPrior(dim=1, num_components=3).means.shape == (3, 1)
    assert GMMPrior(dim=1, num_components=3, init="normal").means.shape == (3, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_components": 0}, "prior.num_components must be >= 1, got 0"),
        ({"dim": 0}, "prior dimension must be >= 1, got 0"),
        ({"init": "zeros"}, "prior.init must be 'orthogonal', 'normal' or 'circle', got 'zeros'"),
        ({"dim": 1, "init": "circle"}, "prior.init=circle needs a latent of >= 2 dimensions, got 1"),
    ],
)
def test_config_errors_name_the_field_and_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        GMMPrior(**({"dim": 2, "num_components": 3} | kwargs))

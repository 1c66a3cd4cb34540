"""MPCC's floored mixture prior (genexp.priors.floored_gmm) against the spec's formulas (thesis
spec §B.2, P2 and question 8): sigma_k = exp(lv_k / 2) + floor when sampling, var = exp(lv_k) +
floor^2 in densities ("code") or sigma_k^2 everywhere ("consistent")."""

from __future__ import annotations

import math

import pytest
import torch

from genexp.errors import ConfigError
from genexp.priors import GMMPrior
from genexp.priors.floored_gmm import FlooredGMMPrior

LOGVARS = torch.tensor([[0.0, math.log(4.0)], [math.log(0.25), 2.0]])


def with_logvars(prior: FlooredGMMPrior) -> FlooredGMMPrior:
    with torch.no_grad():
        prior.logvars.copy_(LOGVARS)
    return prior


def test_defaults_are_the_official_codes() -> None:
    """K = 10, floor 0.5, lv = 1 (sigma = e^0.5 + 0.5), unit-norm orthogonal means, uniform fixed weights."""
    prior = FlooredGMMPrior(dim=12)
    assert prior.means.shape == (10, 12) and prior.std_floor == 0.5 and prior.floor_mode == "code"
    assert torch.allclose(prior.means.norm(dim=1), torch.ones(10), atol=1e-5)
    gram = prior.means @ prior.means.T
    assert (gram - torch.diag(torch.diag(gram))).abs().max() < 1e-5
    assert torch.equal(prior.logvars, torch.ones(10, 12))
    assert torch.allclose(prior.sample_stds(), torch.full((10, 12), math.exp(0.5) + 0.5))
    assert prior.means.requires_grad and prior.logvars.requires_grad and not prior.logits.requires_grad
    assert torch.equal(prior.weights, torch.full((10,), 0.1))


def test_init_options_reach_the_mixture() -> None:
    ortho = FlooredGMMPrior(dim=6, num_components=4, mean_norm=2.5, init_logvar=-1.0, seed=5)
    assert torch.allclose(ortho.means.norm(dim=1), torch.full((4,), 2.5), atol=1e-5)
    assert torch.equal(
        ortho.means, GMMPrior(6, 4, init="orthogonal", mean_scale=2.5 / math.sqrt(6), seed=5).means
    )
    assert torch.equal(ortho.logvars, torch.full((4, 6), -1.0))
    normal = FlooredGMMPrior(dim=6, num_components=4, init="normal", mean_norm=2.5, seed=5)
    assert torch.equal(normal.means, GMMPrior(6, 4, init="normal", mean_scale=2.5, seed=5).means)
    frozen = FlooredGMMPrior(dim=2, num_components=3, learn_means=False, learn_logvars=False)
    assert not frozen.means.requires_grad and not frozen.logvars.requires_grad


def test_sampling_std_adds_the_floor_to_the_component_std() -> None:
    prior = with_logvars(FlooredGMMPrior(dim=2, num_components=2, std_floor=0.5))
    assert torch.allclose(prior.sample_stds(), torch.tensor([[1.5, 2.5], [1.0, math.e + 0.5]]))


@pytest.mark.parametrize("floor", [0.5, 0.0])
def test_density_log_variances_per_floor_mode(floor: float) -> None:
    code = with_logvars(FlooredGMMPrior(dim=2, num_components=2, std_floor=floor))
    assert torch.allclose(code.clamped_logvars, torch.log(LOGVARS.exp() + floor**2))
    consistent = with_logvars(
        FlooredGMMPrior(dim=2, num_components=2, std_floor=floor, floor_mode="consistent")
    )
    assert torch.allclose(consistent.clamped_logvars, 2 * torch.log((0.5 * LOGVARS).exp() + floor))


def test_samples_have_each_components_mean_and_sampling_std() -> None:
    torch.manual_seed(0)
    prior = with_logvars(FlooredGMMPrior(dim=2, num_components=2, std_floor=0.5, mean_norm=10.0))
    z, k = prior.sample_with_components(40_000)
    z = z.detach()
    assert 0.47 < (k == 0).double().mean() < 0.53
    for c in range(2):
        zc = z[k == c]
        assert torch.allclose(zc.mean(0), prior.means[c].detach(), atol=0.06)
        assert torch.allclose(zc.std(0), prior.sample_stds()[c].detach(), rtol=0.03)


def test_bad_options_raise_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"floor_mode must be one of \['code', 'consistent'\], got 'clamp'"):
        FlooredGMMPrior(dim=2, floor_mode="clamp")
    with pytest.raises(ConfigError, match="std_floor must be >= 0, got -0.1"):
        FlooredGMMPrior(dim=2, std_floor=-0.1)

"""Class-conditional Gaussian priors: the class moments, their copy into a GMM prior, the uniform
mixture density of the classes and the drift of a prior since a snapshot, on known answers."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import multivariate_normal

from genexp.errors import ConfigError
from genexp.models.components.class_priors import (
    PriorDrift,
    class_gaussian_log_density,
    class_moments,
    copy_into_prior,
)
from genexp.priors.gmm import GMMPrior


def test_class_moments_are_the_per_class_mean_and_ml_variance() -> None:
    values = torch.tensor([[1.0, 0.0], [3.0, 2.0], [10.0, 5.0], [14.0, 5.0], [7.0, 7.0]])
    labels = torch.tensor([0, 0, 1, 1, 2])  # label 2 is not one of the 2 classes: ignored
    means, variances = class_moments(values, labels, 2)
    torch.testing.assert_close(means, torch.tensor([[2.0, 1.0], [12.0, 5.0]]))
    torch.testing.assert_close(variances, torch.tensor([[1.0, 1.0], [4.0, 0.0]]))  # 1/n, not 1/(n-1)
    with pytest.raises(ConfigError, match="class 2 has no training rows"):
        class_moments(values, labels.clamp(max=1), 3)


def test_copy_into_prior_sets_means_and_floored_log_variances() -> None:
    prior = GMMPrior(2, 2)
    copy_into_prior(prior, torch.tensor([[2.0, 1.0], [12.0, 5.0]]), torch.tensor([[1.0, 4.0], [0.25, 0.0]]))
    torch.testing.assert_close(prior.means.detach(), torch.tensor([[2.0, 1.0], [12.0, 5.0]]))
    expected = torch.tensor([[0.0, math.log(4.0)], [math.log(0.25), math.log(1e-6)]])
    torch.testing.assert_close(prior.logvars.detach(), expected)
    assert prior.means.requires_grad  # still learnable parameters


def test_class_gaussian_log_density_is_the_uniform_mixture_of_the_class_gaussians() -> None:
    means = torch.tensor([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]], dtype=torch.float64)
    variances = torch.tensor([[1.0, 0.5], [2.0, 1.0], [0.3, 3.0]], dtype=torch.float64)
    points = torch.tensor([[0.1, -0.2], [2.5, -0.5], [8.0, 8.0]], dtype=torch.float64)
    expected = [
        math.log(
            sum(
                multivariate_normal(m.numpy(), v.diag().numpy()).pdf(p.numpy())
                for m, v in zip(means, variances)
            )
            / 3
        )
        for p in points
    ]
    torch.testing.assert_close(
        class_gaussian_log_density(points, means, variances), torch.tensor(expected, dtype=torch.float64)
    )


def test_prior_drift_measures_the_movement_since_the_snapshot() -> None:
    prior = GMMPrior(3, 2, min_std=1e-3)
    drift = PriorDrift(2, 3)
    assert not bool(drift.taken)
    drift.snapshot(prior)
    with torch.no_grad():
        prior.means[1] += torch.tensor([3.0, 0.0, 4.0])
        prior.logvars[0] += torch.tensor([0.3, -0.6, 0.0])
    shift, change = drift.drift(prior)
    torch.testing.assert_close(shift, torch.tensor([0.0, 5.0]))
    torch.testing.assert_close(change, torch.tensor([-0.1, 0.0]))
    assert bool(drift.taken) and "means" in drift.state_dict()  # kept in checkpoints

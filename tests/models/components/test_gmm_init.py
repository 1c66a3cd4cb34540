"""The restarted GMM initialisation: the most likely start wins, and on a toy mixture where one
start lands in a local optimum, the restarts recover the true components."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genexp.models.components.gmm_init import fit_gmm_restarts

GRID = torch.stack(torch.meshgrid(torch.arange(5.0) * 4, torch.arange(5.0) * 4, indexing="ij"), -1).view(
    -1, 2
)


def _grid_mixture() -> torch.Tensor:
    """25 equal, well-separated 2-d Gaussians (std 0.5, 4 apart), 100 points each, in grid order."""
    g = torch.Generator().manual_seed(0)
    return torch.cat([c + 0.5 * torch.randn(100, 2, generator=g) for c in GRID])


def _worst_centre_error(means: np.ndarray) -> float:
    """The largest distance from a true centre to its nearest fitted mean."""
    return float(torch.cdist(torch.as_tensor(means).float(), GRID).min(0).values.max())


def test_restarts_keep_the_most_likely_start_and_recover_the_true_mixture() -> None:
    x = _grid_mixture()
    single = fit_gmm_restarts(x, 25, restarts=1, kmeans_n_init=1, seed=0)
    assert _worst_centre_error(single.means) > 1.0  # this start merges two components, splits another
    fit = fit_gmm_restarts(x, 25, restarts=3, kmeans_n_init=1, seed=0)
    assert fit.logliks[0] == pytest.approx(single.loglik)  # start r uses seed + r: start 0 is `single`
    assert fit.best == int(np.argmax(fit.logliks)) and fit.best != 0
    assert fit.loglik == max(fit.logliks) > fit.logliks[0] + 0.03
    # the components are 8 std apart, so the best fit is the sample statistics of the true groups
    groups = x.view(25, 100, 2).double()
    order = torch.cdist(GRID.double(), torch.as_tensor(fit.means)).argmin(1).numpy()
    assert sorted(order) == list(range(25))
    assert np.allclose(fit.means[order], groups.mean(1).numpy(), atol=0.01)
    assert np.allclose(fit.variances[order], groups.var(1, unbiased=False).numpy(), atol=0.01)
    assert np.allclose(fit.weights, 1 / 25, atol=1e-4)


def test_restart_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="restarts"):
        fit_gmm_restarts(_grid_mixture(), 25, restarts=0)

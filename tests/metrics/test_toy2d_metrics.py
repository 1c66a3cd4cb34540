"""2-D mode metrics (PGMGAN §6) and SC-GAN's off-support / low-density fractions on hand-made sets."""

from __future__ import annotations

import math

import pytest
import torch

from genexp.data.toy_distributions import Checkerboard, eight_gaussians, grid25, ring8
from genexp.metrics.modes import mode_counts, reverse_kl_to_uniform
from genexp.metrics.toy2d import (
    blurred_off_support_fraction,
    gmm_log_density,
    low_density_fraction,
    mode_metrics,
    off_support_fraction,
    toy2d_metrics,
)

GRID = grid25()


def test_reverse_kl_by_hand() -> None:
    # p = (1/2, 1/4, 1/4, 0) over M = 4: sum p ln(4p) = 1/2 ln 2 + 2 * 1/4 ln 1 = ln(2)/2
    counts = torch.tensor([2, 1, 1, 0])
    assert reverse_kl_to_uniform(counts) == pytest.approx(math.log(2) / 2)
    assert reverse_kl_to_uniform(counts, base=10) == pytest.approx(math.log10(2) / 2)
    assert reverse_kl_to_uniform(torch.tensor([5, 5, 5])) == pytest.approx(0.0)
    assert mode_counts(torch.tensor([0, 2, 2]), 3).tolist() == [1, 0, 2]


def test_grid_hand_made_set() -> None:
    means = GRID.means
    s = GRID.sigma
    # 2 samples at each of modes 0..9, 1 HQ + 1 just outside 3 sigma (in one coordinate) at mode 10,
    # and 5 far-off points nearest to mode 24 (not high quality)
    pts = [means[m] for m in range(10) for _ in range(2)]
    pts.append(means[10] + torch.tensor([2.9 * s, -2.9 * s]))
    pts.append(means[11] + torch.tensor([3.1 * s, 0.0]))
    pts += [means[24] + torch.tensor([0.5, 0.5])] * 5
    x = torch.stack(pts)
    out = mode_metrics(x, means, s)
    assert out["modes"] == 11  # modes 0..10; the 3.1-sigma point and far points are not HQ
    assert out["modes_total"] == 25
    assert out["hq_pct"] == pytest.approx(100 * 21 / 27)
    p = torch.tensor([2] * 10 + [1, 1] + [0] * 12 + [5], dtype=torch.float64) / 27
    expected = sum(v * math.log(25 * v) for v in p.tolist() if v > 0)
    assert out["reverse_kl"] == pytest.approx(expected)
    assert out["mode_share"][24] == pytest.approx(5 / 27, abs=1e-6)
    assert out["mode_share_min"] == 0.0 and out["mode_share_max"] == pytest.approx(5 / 27)


def test_perfect_ring_samples() -> None:
    ring = ring8()
    x = ring.sample(8000, torch.Generator().manual_seed(0))
    out = mode_metrics(x, ring.means, ring.sigma)
    assert out["modes"] == 8
    assert out["hq_pct"] == pytest.approx(100 * 0.9973**2, abs=0.5)
    assert out["reverse_kl"] < 2e-3


def test_checkerboard_off_support() -> None:
    board = Checkerboard()
    real = board.sample(2000, torch.Generator().manual_seed(0))
    assert off_support_fraction(real, board.on_support) == pytest.approx(0.0)
    uniform = torch.rand(20000, 2, generator=torch.Generator().manual_seed(1)) * 8 - 4
    assert off_support_fraction(uniform, board.on_support) == pytest.approx(0.5, abs=0.02)
    out = toy2d_metrics(uniform, on_support=board.on_support)
    assert set(out) == {"off_support_frac"}


def test_low_density_fraction_eight_gaussians() -> None:
    dist = eight_gaussians()
    real = dist.sample(20000, torch.Generator().manual_seed(0))
    fresh = dist.sample(20000, torch.Generator().manual_seed(1))
    frac, thr = low_density_fraction(fresh, real, dist.log_prob, 0.01)
    assert frac == pytest.approx(0.01, abs=0.003)
    assert thr == pytest.approx(-6.19, abs=0.1)  # SC-GAN spec §6
    # our GMM density equals the distribution's own
    assert torch.allclose(
        gmm_log_density(fresh[:100], dist.means, dist.sigma), dist.log_prob(fresh[:100]).double(), atol=1e-4
    )
    uniform = torch.rand(20000, 2, generator=torch.Generator().manual_seed(2)) * 8 - 4
    frac_u, _ = low_density_fraction(uniform, real, dist.log_prob, 0.01)
    assert frac_u == pytest.approx(0.56, abs=0.03)  # SC-GAN spec §6: uniform on the box ~ 0.56


def _leave_prob(side: float, sigma: float) -> float:
    """P(U + N(0, sigma^2) leaves [0, side]) for U uniform on [0, side], in closed form."""
    t = side / sigma
    phi = lambda v: math.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)  # noqa: E731
    return (2 * sigma / side) * (t * 0.5 * math.erfc(t / math.sqrt(2)) + phi(0.0) - phi(t))


def test_blurred_off_support_matches_closed_forms() -> None:
    n = 400_000
    se = 3 * math.sqrt(0.25 / n)  # 3 standard errors of a fraction
    square = torch.rand(n, 2, generator=torch.Generator().manual_seed(0)) * 2.0
    inside = lambda x: ((x >= 0) & (x <= 2.0)).all(dim=1)  # noqa: E731
    q = _leave_prob(2.0, 0.2)  # the two axes leave independently
    assert blurred_off_support_fraction(square, inside, 0.2**2) == pytest.approx(1 - (1 - q) ** 2, abs=se)
    assert blurred_off_support_fraction(square, inside, 0.0) == 0.0
    # checkerboard, MSE 0.015 (sigma 0.122): leaving a 2x2 cell along one axis lands off the support,
    # along both axes on the diagonal cell (on the support unless outside the box): 2q - 2q^2 <= f <= 2q - q^2
    real = Checkerboard().sample(n, torch.Generator().manual_seed(1))
    q = _leave_prob(2.0, math.sqrt(0.015))
    f = blurred_off_support_fraction(real, Checkerboard.on_support, 0.015)
    assert 2 * q - 2 * q * q - se <= f <= 2 * q - q * q + se
    assert f == pytest.approx(0.095, abs=0.003)  # the floor the SC-GAN review measured

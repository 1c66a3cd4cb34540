"""The GTN paper's toy checks (spec gtn.md §8): the 1-D swiss-roll parameter against U(1.5π, 4.5π)
and its exact quantile map, the 2-D uniform square's marginals and cell masses, and the fraction of
2-D samples off the swiss-roll curve."""

from __future__ import annotations

import math

import torch
from scipy.stats import kstest
from torch import Tensor

from genexp.metrics.memorisation import nearest_distance


def uniform_ks(values: Tensor, low: float, high: float) -> float:
    """Kolmogorov-Smirnov statistic of ``values`` against U(low, high)."""
    return float(kstest(values.double().numpy().ravel(), "uniform", args=(low, high - low)).statistic)


def exact_quantile_map(y: Tensor, low: float, high: float) -> Tensor:
    """F_X⁻¹(Φ(y)) for X ~ U(low, high): the map a 1-D GTN should learn."""
    return low + (high - low) * 0.5 * (1 + torch.erf(y.double() / math.sqrt(2)))


def grid_cell_mass(points01: Tensor, cells: int = 5) -> Tensor:
    """Mass of each of ``cells``² equal cells of [0, 1]², relative to the uniform's (1 = uniform)."""
    idx = (points01.clamp(0, 1 - 1e-9) * cells).long()
    counts = torch.bincount(idx[:, 0] * cells + idx[:, 1], minlength=cells * cells).double()
    return counts / (len(points01) / cells**2)


def uniform_square_checks(points01: Tensor, cells: int = 5) -> dict[str, float]:
    """Max marginal KS vs U(0, 1), the fraction inside [0, 1]², and min/max relative cell mass."""
    mass = grid_cell_mass(points01, cells)
    inside = ((points01 >= 0) & (points01 <= 1)).all(1).double().mean()
    return {
        "max_marginal_ks": max(uniform_ks(points01[:, k], 0.0, 1.0) for k in range(points01.shape[1])),
        "inside_frac": float(inside),
        "cell_mass_min": float(mass.min()),
        "cell_mass_max": float(mass.max()),
    }


def distance_to_curve(points: Tensor, curve_points: Tensor, block: int = 2000) -> Tensor:
    """Euclidean distance from each point to the nearest of a dense set of curve points."""
    return nearest_distance(points, curve_points, block)

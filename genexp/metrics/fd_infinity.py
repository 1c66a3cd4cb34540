"""FD∞: the Fréchet distance extrapolated to infinitely many generated samples (Chong & Forsyth
2020, "Effectively Unbiased FID and Inception Score and where to find them").

FD computed on N generated samples is biased upwards by a term that is, to first order, linear in
1/N and depends on the model. FD∞ evaluates FD on random subsets of sizes N_1 < ... < N_p of the
generated features (each size drawn independently, the reference statistics fixed), fits
FD_N = FD∞ + slope / N by least squares and reports the intercept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genexp.metrics.frechet import frechet_distance, gaussian_fit


def subset_sizes(n: int, points: int = 5, min_fraction: float = 0.1) -> list[int]:
    """``points`` sizes evenly spaced from ``min_fraction * n`` to ``n`` (distinct, each >= 2)."""
    if points < 2:
        raise ValueError(f"FD∞ needs at least 2 sample sizes, got points={points}")
    if not 0 < min_fraction < 1:
        raise ValueError(f"min_fraction must be in (0, 1), got {min_fraction}")
    sizes = sorted({int(round(s)) for s in np.linspace(max(2.0, min_fraction * n), n, points)})
    if len(sizes) < 2:
        raise ValueError(f"{n} generated samples are too few for FD∞ (need 2 distinct sizes >= 2)")
    return sizes


def fit_inverse_n(sizes: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)`` of ``values = intercept + slope / sizes``."""
    x = 1.0 / np.asarray(sizes, float)
    slope, intercept = np.polyfit(x, np.asarray(values, float), 1)
    return float(intercept), float(slope)


def fd_infinity(
    generated: Tensor, reference: Tensor, points: int = 5, min_fraction: float = 0.1, seed: int = 0
) -> dict[str, Any]:
    """``fid_inf`` (the intercept), ``fid_inf_slope`` and ``fid_inf_points`` ([[N, FD_N], ...]) of
    generated features against reference features (rows are samples). Subsets are drawn without
    replacement with a generator seeded by ``seed``; the largest size is the whole set."""
    mu_ref, sigma_ref = gaussian_fit(reference)
    generated = torch.as_tensor(generated).detach().cpu().double()
    gen = torch.Generator().manual_seed(int(seed))
    curve = []
    for n in subset_sizes(len(generated), points, min_fraction):
        rows = torch.randperm(len(generated), generator=gen)[:n]
        curve.append([n, frechet_distance(*gaussian_fit(generated[rows]), mu_ref, sigma_ref)])
    intercept, slope = fit_inverse_n([n for n, _ in curve], [fd for _, fd in curve])
    return {"fid_inf": intercept, "fid_inf_slope": slope, "fid_inf_points": curve}


def fd_vs_n_figure(points: Sequence[Sequence[float]], intercept: float, slope: float, title: str = "") -> Any:
    """A small matplotlib figure: FD_N against 1/N with the fitted line down to 1/N = 0 (FD∞)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.asarray([p[0] for p in points], float)
    fd = np.asarray([p[1] for p in points], float)
    fig, ax = plt.subplots(figsize=(4, 3))
    x = np.linspace(0.0, 1.0 / n.min(), 50)
    ax.plot(x, intercept + slope * x, "-", color="tab:blue", label=f"fit: FD∞ = {intercept:.4g}")
    ax.plot(1.0 / n, fd, "o", color="tab:orange", label="FD at N samples")
    ax.set_xlabel("1 / N")
    ax.set_ylabel("FD")
    ax.set_xlim(left=0.0)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

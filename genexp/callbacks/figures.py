"""Figures of samples: image grids, 2-D scatter plots over the data, 1-D histograms."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor


def to_unit_range(x: Tensor, value_range: Optional[Sequence[float]]) -> Tensor:
    """Map images from ``value_range`` to [0, 1] (min-max per batch if the range is unknown)."""
    if value_range is None:
        lo, hi = float(x.min()), float(x.max())
    else:
        lo, hi = float(value_range[0]), float(value_range[1])
    return ((x - lo) / max(hi - lo, 1e-8)).clamp(0, 1)


def image_grid_figure(images: Tensor, value_range: Optional[Sequence[float]], title: str = "", nrow: int = 8):
    """A matplotlib figure of a grid of (n, C, H, W) images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    grid = make_grid(to_unit_range(images.float(), value_range), nrow=nrow, padding=2, pad_value=1.0)
    fig, ax = plt.subplots(figsize=(6, 6 * grid.shape[1] / grid.shape[2]))
    arr = grid.permute(1, 2, 0).numpy()
    ax.imshow(arr.squeeze(-1) if arr.shape[-1] == 1 else arr, cmap="gray" if arr.shape[-1] == 1 else None)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def points_figure(samples: Tensor, data: Optional[Tensor], title: str = ""):
    """Scatter plot of 2-D samples over the data, or overlaid histograms for 1-D values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    s = samples.reshape(len(samples), -1).float().numpy()
    d = data.reshape(len(data), -1).float().numpy() if data is not None else None
    if s.shape[1] == 1:
        if d is not None:
            ax.hist(d[:, 0], bins=60, density=True, alpha=0.5, label="data")
        ax.hist(s[:, 0], bins=60, density=True, alpha=0.5, label="samples")
    else:
        if d is not None:
            ax.scatter(d[:, 0], d[:, 1], s=2, c="0.7", label="data", rasterized=True)
        ax.scatter(s[:, 0], s[:, 1], s=2, c="tab:red", label="samples", rasterized=True)
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", markerscale=4)
    if title:
        ax.set_title(title)
    return fig


def reconstruction_pairs(x: Tensor, x_hat: Tensor, n: int = 8) -> Tensor:
    """Interleave originals and reconstructions row-wise: row 2i = originals, 2i+1 = recons."""
    rows = []
    for i in range(0, min(len(x), n * n // 2), n):
        rows.append(x[i : i + n])
        rows.append(x_hat[i : i + n])
    return torch.cat(rows)

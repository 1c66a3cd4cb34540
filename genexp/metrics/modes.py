"""Mode histograms: how many modes were hit and how far the histogram is from uniform."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def mode_counts(labels: Tensor, num_modes: int) -> Tensor:
    """Number of samples assigned to each of ``num_modes`` modes (labels in ``[0, num_modes)``)."""
    labels = torch.as_tensor(labels).long().reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_modes):
        raise ValueError(f"mode labels must lie in [0, {num_modes}); got [{labels.min()}, {labels.max()}]")
    return torch.bincount(labels, minlength=num_modes)


def reverse_kl_to_uniform(counts: Tensor, base: float = math.e) -> float:
    """KL(p_hat || Uniform(M)) = sum_m p_m log(M p_m) of a count histogram, in log base ``base``.

    Empty modes contribute 0 (0 log 0 = 0). PGMGAN uses the natural log for 2-D toys and
    base 10 for Stacked-MNIST / CIFAR-10 (the PacGAN convention).
    """
    counts = torch.as_tensor(counts, dtype=torch.float64).reshape(-1)
    total = counts.sum()
    if total <= 0:
        raise ValueError("reverse KL needs at least one sample")
    p = counts / total
    nz = p > 0
    kl = (p[nz] * torch.log(p[nz] * len(counts))).sum().item()
    return kl / math.log(base)

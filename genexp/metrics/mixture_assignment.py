"""Codes against a mixture target whose component k stands for class k: the accuracy of
max-responsibility assignment, and a 2-D view of the codes (PCA above two dimensions)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def component_accuracy(responsibilities: Tensor, labels: Tensor) -> float:
    """The share of rows whose most responsible component is their label (no relabelling of
    components: component k means class k)."""
    if len(responsibilities) != len(labels) or len(labels) == 0:
        raise ValueError(f"need equally many rows and labels, got {len(responsibilities)} and {len(labels)}")
    return float((responsibilities.argmax(1).cpu() == labels.cpu()).double().mean())


def pca_2d(z: Tensor, extra: Optional[Tensor] = None) -> tuple[Tensor, Optional[Tensor], str]:
    """``z`` (and ``extra``, e.g. the component means, in the same coordinates) in two dimensions:
    as they are when ``z`` has at most two columns, else projected on the first two principal axes
    of ``z`` (centred with ``z``'s mean). Returns (z_2d, extra_2d, how)."""
    z = z.double()
    if z.shape[1] <= 2:
        return z, None if extra is None else extra.double(), "codes"
    mean = z.mean(0)
    _, _, vh = torch.linalg.svd(z - mean, full_matrices=False)
    basis = vh[:2].T
    proj = (z - mean) @ basis
    return proj, None if extra is None else (extra.double() - mean) @ basis, "pca"

"""PGMGAN's partition guide R_i(x) and the annealing schedule of its weight (spec §2.3-2.4)."""

from __future__ import annotations

import torch
from torch import Tensor


def guide_distance(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """R_y(x) = sum_c ReLU(f_c(x) - f_y(x)) per row, from partitioner logits ``(n, k)``.

    Zero exactly where ``y`` is the arg-max partition (ties count as inside), positive outside.
    ``reduction="mean"`` divides by k (the official code's form, used with its lambda = 6),
    ``"sum"`` is the paper's Eq. 6.
    """
    own = logits.gather(1, target.long().view(-1, 1))
    r = torch.relu(logits - own).sum(dim=1)
    if reduction == "mean":
        return r / logits.shape[1]
    if reduction == "sum":
        return r
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def annealed_weight(step: int, start: float, anneal_steps: int, floor: float = 0.0) -> float:
    """Linear decay from ``start`` to 0 over ``anneal_steps`` steps, never below ``floor``.

    ``max(floor, start * (1 - step / anneal_steps))``: with start 6 and 50,000 G steps this is the
    official ``max(floor, 6 - 1.2e-4 * t)``. ``anneal_steps <= 0`` keeps ``start`` constant.
    """
    if anneal_steps <= 0:
        return float(start)
    return max(float(floor), float(start) * (1.0 - float(step) / float(anneal_steps)))

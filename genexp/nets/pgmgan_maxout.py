"""Maxout MLPs, optionally with a class-indexed ("masked") output: the 2-D toy D of PGMGAN (§3.3)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.nets.mlp import _numel


class Maxout(nn.Module):
    """Linear(in -> out * pieces) followed by the max over the ``pieces`` linear pieces."""

    def __init__(self, in_dim: int, out_dim: int, pieces: int = 5) -> None:
        super().__init__()
        self.out_dim, self.pieces = int(out_dim), int(pieces)
        self.linear = nn.Linear(in_dim, self.out_dim * self.pieces)

    def forward(self, x: Tensor) -> Tensor:
        """(n, in) -> (n, out)."""
        return self.linear(x).view(x.shape[0], self.out_dim, self.pieces).max(dim=2).values


class MaxoutMLP(nn.Module):
    """Maxout layers, then a linear head with ``out_dim`` outputs per class.

    With ``num_classes`` set, ``forward(x, y)`` returns the head's outputs of class ``y`` only (the
    Self-Cond-GAN/PGMGAN "masked" conditional discriminator); without it, ``forward(x)`` is an
    unconditional net. The factory signature ``(in_shape, out_dim, ...)`` matches
    :func:`genexp.nets.factory.data_to_vector`.
    """

    def __init__(
        self,
        in_shape: Sequence[int] | int,
        out_dim: int,
        hidden: Sequence[int] = (200, 200, 200),
        pieces: int = 5,
        num_classes: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.out_dim = int(out_dim)
        self.num_classes = int(num_classes) if num_classes else None
        layers, width = [], _numel(in_shape)
        for h in hidden:
            layers.append(Maxout(width, int(h), pieces))
            width = int(h)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, self.out_dim * (self.num_classes or 1))

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """(n, *in_shape) [, labels (n,)] -> (n, out_dim)."""
        out = self.head(self.body(torch.flatten(x, 1)))
        if self.num_classes is None:
            return out
        if y is None:
            raise ValueError("this MaxoutMLP is class-conditional: pass the labels y")
        out = out.view(x.shape[0], self.num_classes, self.out_dim)
        return out[torch.arange(x.shape[0], device=x.device), y.long()]

"""Fully connected nets for flat data, 2-D toys and latent codes."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.nets.layers import activation, maybe_spectral, norm_1d


def _numel(shape: Sequence[int] | int) -> int:
    return int(shape) if isinstance(shape, int) else math.prod(int(s) for s in shape)


class MLP(nn.Module):
    """in_shape -> hidden layers -> out_shape; flattens its input and reshapes its output.

    Each hidden layer is Linear -> (norm) -> activation (-> dropout). ``out_activation`` is an
    optional module applied to the output (e.g. tanh for data in [-1, 1]).
    """

    def __init__(
        self,
        in_shape: Sequence[int] | int,
        out_shape: Sequence[int] | int,
        hidden: Sequence[int] = (256, 256),
        activation_name: str = "relu",
        norm: Optional[str] = None,
        dropout: float = 0.0,
        spectral_norm: bool = False,
        out_activation: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        self.out_shape = (int(out_shape),) if isinstance(out_shape, int) else tuple(int(s) for s in out_shape)
        layers: list[nn.Module] = []
        width = _numel(in_shape)
        for h in hidden:
            layers.append(maybe_spectral(nn.Linear(width, int(h)), spectral_norm))
            n = norm_1d(norm, int(h))
            if n is not None:
                layers.append(n)
            layers.append(activation(activation_name))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(maybe_spectral(nn.Linear(width, _numel(self.out_shape)), spectral_norm))
        if out_activation is not None:
            layers.append(out_activation)
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Map a batch (n, *in_shape) to (n, *out_shape)."""
        return self.net(torch.flatten(x, 1)).view(x.shape[0], *self.out_shape)

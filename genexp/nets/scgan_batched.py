"""K independent MLPs evaluated as one batched net (e.g. SC-GAN's per-cluster AAEs)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from genexp.nets.layers import activation


class BatchedMLP(nn.Module):
    """``num_nets`` MLPs of identical shape with separate weights, run together with ``baddbmm``.

    ``forward(x)`` maps ``(K, B, in_dim)`` to ``(K, B, out_dim)`` (net k on row block k);
    :meth:`forward_indexed` maps ``(n, in_dim)`` rows with a net index each to ``(n, out_dim)``.
    Each net is initialised like ``nn.Linear`` layers.
    """

    def __init__(
        self,
        num_nets: int,
        in_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (128, 128),
        activation_name: str = "leaky_relu",
    ) -> None:
        super().__init__()
        dims = [int(in_dim), *[int(h) for h in hidden], int(out_dim)]
        self.num_nets = int(num_nets)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(nn.Parameter(torch.empty(self.num_nets, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(self.num_nets, 1, b).uniform_(-bound, bound)))
        self.act = activation(activation_name)

    def forward(self, x: Tensor) -> Tensor:
        """(K, B, in) -> (K, B, out)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = self.act(x)
        return x

    def forward_indexed(self, x: Tensor, index: Tensor) -> Tensor:
        """Row i through net ``index[i]``: (n, in), (n,) -> (n, out).

        Every net runs on every row and each row keeps its own net's output: no data-dependent
        shapes, so no host sync inside a step (the nets are small; K times the work is cheaper
        than a sync on an accelerator)."""
        out = self.forward(x.unsqueeze(0).expand(self.num_nets, *x.shape))
        return out[index, torch.arange(x.shape[0], device=x.device)]

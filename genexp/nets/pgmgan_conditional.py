"""A class-conditional MLP generator: G(z, y) = MLP([z, e_y / ||e_y||]) (PGMGAN's 2-D toy G, §3.3)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.nets.layers import output_squash
from genexp.nets.mlp import MLP


class ConditionalMLP(nn.Module):
    """Concatenates z with an L2-normalised class embedding and maps it through an :class:`MLP`.

    The factory signature ``(in_dim, out_shape, value_range, ...)`` matches
    :func:`genexp.nets.factory.vector_to_data`; ``num_classes`` and ``embed_dim`` size the
    embedding (``normalize_embedding=False`` feeds it raw). Hidden layers are
    Linear -> ``norm`` -> ``activation_name``, as in :class:`MLP`.
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        num_classes: int,
        value_range: Optional[Sequence[float]] = None,
        embed_dim: int = 32,
        hidden: Sequence[int] = (400, 400, 400, 400),
        activation_name: str = "relu",
        norm: Optional[str] = "batch",
        normalize_embedding: bool = True,
        squash: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.normalize_embedding = normalize_embedding
        self.embedding = nn.Embedding(self.num_classes, int(embed_dim))
        out_act = output_squash(value_range) if squash else None
        self.net = MLP(
            int(in_dim) + int(embed_dim), out_shape, hidden, activation_name, norm, out_activation=out_act
        )

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        """(n, in_dim), labels (n,) -> (n, *out_shape)."""
        e = self.embedding(y.long())
        if self.normalize_embedding:
            e = F.normalize(e, dim=1)
        return self.net(torch.cat([z, e], dim=1))

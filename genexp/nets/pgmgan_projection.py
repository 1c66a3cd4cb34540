"""Image nets of PGMGAN's 32-px mixture (spec §3.4): a G conditioned by class-conditional BatchNorm
on a part embedding, and a projection discriminator D(x, y) = linear(h) + embed(y) . h."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.nets.resnet import ResNetDecoder, ResNetEncoder, sn_layer


class ConditionalResNetGenerator(nn.Module):
    """G(z, y): :class:`ResNetDecoder` whose conditional BatchNorms are driven by Embedding(k, e)(y)
    only (BigGAN with ``G_shared: False``; the part id is not concatenated to z)."""

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        num_classes: int,
        value_range: Optional[Sequence[float]] = None,
        embed_dim: int = 128,
        width: int = 256,
        channels: Optional[Sequence[int]] = None,
        bottom: int = 4,
        upsample: str = "nearest",
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(int(num_classes), int(embed_dim))
        nn.init.normal_(self.embedding.weight, 0.0, 0.02)
        self.net = ResNetDecoder(
            in_dim,
            out_shape,
            value_range,
            True,
            width,
            channels,
            bottom,
            condition_on_z=False,
            cond_dim=int(embed_dim),
            upsample=upsample,
            spectral_norm=spectral_norm,
        )

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        """(n, in_dim), (n,) -> (n, C, H, W)."""
        return self.net(z, self.embedding(y.long()))


class ProjectionDiscriminator(nn.Module):
    """h = sum-pool(ReLU(residual blocks(x))); D(x, y) = w . h + b + e_y . h (Miyato & Koyama).

    Blocks as :class:`ResNetEncoder` (``blocks`` of down/same, ``width`` channels), spectral norm on
    every layer including the embedding-free projection; ``out_dim`` must be 1.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        out_dim: int,
        num_classes: int,
        width: int = 256,
        blocks: Sequence[str] = ("down", "down", "same", "same"),
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        if out_dim != 1:
            raise ValueError("ProjectionDiscriminator has one output")
        self.body = ResNetEncoder(in_shape, 1, width, blocks, spectral_norm=spectral_norm).blocks
        self.linear = sn_layer(nn.Linear(width, 1), spectral_norm=spectral_norm)
        self.embedding = sn_layer(nn.Embedding(int(num_classes), width), spectral_norm=spectral_norm)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """(n, C, H, W), (n,) -> (n, 1)."""
        h = torch.relu(self.body(x)).sum(dim=(2, 3))
        return self.linear(h) + (self.embedding(y.long()) * h).sum(dim=1, keepdim=True)

"""Generators G(z, y) of MPCC / AIM-MPCC: a ResNet (thesis Table 8.1, BigGAN blocks from
:mod:`genexp.nets.resnet`) and a small MLP for CPU-scale runs, both fed by a
:class:`~genexp.nets.mpcc_latent_injection.LatentInjection` (``split`` | ``shared`` | ``class_bn``)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.layers import maybe_spectral, output_squash
from genexp.nets.mpcc_latent_injection import LatentInjection
from genexp.nets.resnet import UPSAMPLING, UpBlock, sn_layer


def _squash(value_range: Optional[Sequence[float]], squash: bool) -> nn.Module:
    act = output_squash(value_range) if squash else None
    return act if act is not None else nn.Identity()


class ConditionalMLPGenerator(nn.Module):
    """(z, y) -> data of ``out_shape``: Linear -> ConditionalNorm -> ReLU per ``hidden`` width, then
    Linear and tanh/sigmoid (``squash`` with a (-1, 1)/(0, 1) ``value_range``)."""

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        value_range: Optional[Sequence[float]] = None,
        num_classes: int = 0,
        hidden: Sequence[int] = (256, 512),
        injection: str = "class_bn",
        embed_dim: Optional[int] = None,
        spectral_norm: bool = False,
        squash: bool = True,
    ) -> None:
        super().__init__()
        self.out_shape = tuple(int(s) for s in out_shape)
        self.inject = LatentInjection(injection, in_dim, len(hidden), num_classes, embed_dim, spectral_norm)
        widths = [self.inject.input_dim] + [int(h) for h in hidden]
        self.linears = nn.ModuleList(
            maybe_spectral(nn.Linear(a, b), spectral_norm) for a, b in zip(widths[:-1], widths[1:])
        )
        self.norms = nn.ModuleList(self.inject.make_norm(w, 1) for w in widths[1:])
        self.out = maybe_spectral(nn.Linear(widths[-1], math.prod(self.out_shape)), spectral_norm)
        self.out_act = _squash(value_range, squash)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """(n, in_dim) [+ (n,) classes] -> (n, *out_shape)."""
        h, conds = self.inject(z, y)
        for linear, norm, c in zip(self.linears, self.norms, conds):
            h = F.relu(norm(linear(h), c))
        return self.out_act(self.out(h)).view(z.shape[0], *self.out_shape)


class ConditionalResNetGenerator(nn.Module):
    """(z, y) -> image (thesis Table 8.1): SN-linear to a ``bottom`` x ``bottom`` x ``width`` grid,
    "Resblock up" blocks until the side covers the image (4 -> 8 -> 16 -> 32), BN, ReLU, conv3x3,
    tanh; larger maps are center-cropped. Each block's two norms share the block's conditioning."""

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        value_range: Optional[Sequence[float]] = None,
        num_classes: int = 0,
        width: int = 48,
        bottom: int = 4,
        injection: str = "class_bn",
        embed_dim: Optional[int] = None,
        upsample: str = "nearest",
        init_std: float = 0.02,
        spectral_norm: bool = True,
        squash: bool = True,
    ) -> None:
        super().__init__()
        if len(out_shape) != 3:
            raise ConfigError(
                f"ConditionalResNetGenerator needs (C, H, W) images, got shape {list(out_shape)}"
            )
        if upsample not in UPSAMPLING:
            raise ConfigError(f"upsample must be one of {list(UPSAMPLING)}, got {upsample!r}")
        self.out_shape = tuple(int(s) for s in out_shape)
        self.width, self.bottom = int(width), int(bottom)
        n_up = max(1, math.ceil(math.log2(max(self.out_shape[1:]) / self.bottom)))
        self.inject = LatentInjection(injection, in_dim, n_up, num_classes, embed_dim, spectral_norm)
        self.stem = sn_layer(
            nn.Linear(self.inject.input_dim, self.width * self.bottom**2), init_std, spectral_norm
        )
        self.blocks = nn.ModuleList()
        for _ in range(n_up):
            block = UpBlock(self.width, self.width, 0, upsample, init_std, spectral_norm)
            block.bn1 = self.inject.make_norm(self.width, 2)
            block.bn2 = self.inject.make_norm(self.width, 2)
            self.blocks.append(block)
        self.out_bn = nn.BatchNorm2d(self.width)
        self.out_conv = sn_layer(
            nn.Conv2d(self.width, self.out_shape[0], 3, padding=1), init_std, spectral_norm
        )
        self.out_act = _squash(value_range, squash)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """(n, in_dim) [+ (n,) classes] -> (n, C, H, W)."""
        h0, conds = self.inject(z, y)
        h = self.stem(h0).view(z.shape[0], self.width, self.bottom, self.bottom)
        for block, c in zip(self.blocks, conds):
            h = block(h, c)
        x = self.out_act(self.out_conv(F.relu(self.out_bn(h))))
        _, height, width = self.out_shape
        top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
        return x[:, :, top : top + height, left : left + width]

"""BigGAN-style residual nets of the thesis (ch. 6, 8, 9; spec §C1-C2): spectral norm on every
conv/linear, N(0, 0.02) weights, up/down residual blocks, conditional BatchNorm.

``ResNetEncoder(in_shape, out_dim, ...)`` and ``ResNetDecoder(in_dim, out_shape, value_range,
squash, ...)`` have the call signature of :mod:`genexp.nets.factory`, so a model config swaps them
in as ``_partial_`` targets. Chapter 6 (32x32 inputs): ``width`` = 4C (128 for MNIST/FMNIST with
C = 32, 384 for CIFAR-10 with C = 96).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.layers import output_squash

BLOCK_KINDS = ("down", "same")
UPSAMPLING = ("bilinear", "nearest")


def sn_layer(module: nn.Module, init_std: float = 0.02, spectral_norm: bool = True) -> nn.Module:
    """Initialise a Linear/Conv weight from N(0, ``init_std``) and zero its bias, then wrap it in
    spectral normalisation (one power iteration per step) when ``spectral_norm``."""
    nn.init.normal_(module.weight, 0.0, init_std)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return nn.utils.parametrizations.spectral_norm(module) if spectral_norm else module


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without affine parameters whose gain (1 + gamma(c)) and bias beta(c) are linear
    maps of a conditioning vector c; with ``cond_dim`` 0 a plain affine BatchNorm2d."""

    def __init__(
        self, channels: int, cond_dim: int = 0, init_std: float = 0.02, spectral_norm: bool = True
    ) -> None:
        super().__init__()
        self.cond_dim = int(cond_dim)
        self.bn = nn.BatchNorm2d(channels, affine=self.cond_dim == 0)
        if self.cond_dim > 0:
            self.gain = sn_layer(nn.Linear(self.cond_dim, channels), init_std, spectral_norm)
            self.bias = sn_layer(nn.Linear(self.cond_dim, channels), init_std, spectral_norm)

    def forward(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """Normalise ``x`` (n, C, H, W) and modulate it with ``cond`` (n, cond_dim)."""
        out = self.bn(x)
        if self.cond_dim == 0:
            return out
        if cond is None:
            raise ValueError("this ConditionalBatchNorm2d needs a conditioning vector")
        return out * (1 + self.gain(cond))[:, :, None, None] + self.bias(cond)[:, :, None, None]


class UpBlock(nn.Module):
    """G block "Resblock up": CBN, ReLU, upsample x2, conv3x3, CBN, ReLU, conv3x3; skip: upsample x2,
    conv1x1; out = main + skip."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        cond_dim: int = 0,
        upsample: str = "bilinear",
        init_std: float = 0.02,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.bn1 = ConditionalBatchNorm2d(in_ch, cond_dim, init_std, spectral_norm)
        self.conv1 = sn_layer(nn.Conv2d(in_ch, out_ch, 3, padding=1), init_std, spectral_norm)
        self.bn2 = ConditionalBatchNorm2d(out_ch, cond_dim, init_std, spectral_norm)
        self.conv2 = sn_layer(nn.Conv2d(out_ch, out_ch, 3, padding=1), init_std, spectral_norm)
        self.skip = sn_layer(nn.Conv2d(in_ch, out_ch, 1), init_std, spectral_norm)

    def _up(self, x: Tensor) -> Tensor:
        if self.upsample == "bilinear":
            return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """(n, in_ch, H, W) -> (n, out_ch, 2H, 2W)."""
        h = self._up(F.relu(self.bn1(x, cond)))
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + self.skip(self._up(x))


class DownBlock(nn.Module):
    """D/E block: ReLU, conv3x3, ReLU, conv3x3, (avgpool2); skip: conv1x1, (avgpool2).

    ``first``: no leading ReLU and the skip pools before its 1x1 conv. ``down=False`` ("Resblock"):
    no pooling, and an identity skip when the widths agree (a 1x1 conv otherwise)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        down: bool = True,
        first: bool = False,
        init_std: float = 0.02,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        self.down, self.first = bool(down), bool(first)
        self.conv1 = sn_layer(nn.Conv2d(in_ch, out_ch, 3, padding=1), init_std, spectral_norm)
        self.conv2 = sn_layer(nn.Conv2d(out_ch, out_ch, 3, padding=1), init_std, spectral_norm)
        needs_conv = self.down or in_ch != out_ch
        self.skip = (
            sn_layer(nn.Conv2d(in_ch, out_ch, 1), init_std, spectral_norm) if needs_conv else nn.Identity()
        )

    def _shortcut(self, x: Tensor) -> Tensor:
        if not self.down:
            return self.skip(x)
        if self.first:
            return self.skip(F.avg_pool2d(x, 2))
        return F.avg_pool2d(self.skip(x), 2)

    def forward(self, x: Tensor) -> Tensor:
        """(n, in_ch, H, W) -> (n, out_ch, H/2, W/2) (or H, W without pooling)."""
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)


def _widths(width: int, channels: Optional[Sequence[int]], n: int, what: str) -> list[int]:
    if channels is None:
        return [int(width)] * n
    if len(channels) != n:
        raise ConfigError(f"{what}: channels needs {n} widths, got {len(channels)} ({list(channels)})")
    return [int(c) for c in channels]


class ResNetEncoder(nn.Module):
    """Image (C, H, W) -> vector: residual blocks (thesis Table 6.2: down, down, same, down, down;
    32 -> 16 -> 8 -> 8 -> 4 -> 2), flatten, SN-linear to ``out_dim`` (2J: the mean and log-variance
    heads of q(z|x) in one layer). ``width`` (4C) for every block, or one width per block in
    ``channels``. Works for any input side (28 px gives 1x1 maps, 64 px 4x4)."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_dim: int,
        width: int = 128,
        blocks: Sequence[str] = ("down", "down", "same", "down", "down"),
        channels: Optional[Sequence[int]] = None,
        init_std: float = 0.02,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        if len(in_shape) != 3:
            raise ConfigError(f"ResNetEncoder needs (C, H, W) images, got shape {list(in_shape)}")
        unknown = [b for b in blocks if b not in BLOCK_KINDS]
        if unknown or not blocks:
            raise ConfigError(
                f"ResNetEncoder blocks must be a non-empty list of {list(BLOCK_KINDS)}, got {list(blocks)}"
            )
        widths = _widths(width, channels, len(blocks), "ResNetEncoder")
        layers, c_in = [], int(in_shape[0])
        for i, (kind, c_out) in enumerate(zip(blocks, widths)):
            layers.append(
                DownBlock(
                    c_in,
                    c_out,
                    down=kind == "down",
                    first=i == 0,
                    init_std=init_std,
                    spectral_norm=spectral_norm,
                )
            )
            c_in = c_out
        self.blocks = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.blocks(torch.zeros(1, *[int(s) for s in in_shape])).numel()
        self.head = sn_layer(nn.Linear(flat, int(out_dim)), init_std, spectral_norm)

    def forward(self, x: Tensor) -> Tensor:
        """(n, C, H, W) -> (n, out_dim)."""
        return self.head(torch.flatten(self.blocks(x), 1))


class ResNetDecoder(nn.Module):
    """Vector z -> image: SN-linear to a ``bottom`` x ``bottom`` x width grid, up-blocks doubling the
    side until it covers the output (thesis Table 6.1: 4 -> 8 -> 16 -> 32), then BN, ReLU, conv3x3
    to the image channels and tanh/sigmoid (``squash`` with a (-1, 1)/(0, 1) ``value_range``);
    larger maps are center-cropped (28 px: 32 -> 28).

    Conditional BatchNorm in every block is driven by ``[z, cond]``: z itself when
    ``condition_on_z`` (the thesis: the same z, a different linear map per block) and an extra
    vector ``cond`` of ``cond_dim`` (e.g. a class embedding for MPCC) passed to ``forward``; with
    neither, plain BatchNorm. ``width`` (4C) everywhere, or ``channels`` = [stem, block 1, ...].
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        value_range: Optional[Sequence[float]] = None,
        squash: bool = True,
        width: int = 128,
        channels: Optional[Sequence[int]] = None,
        bottom: int = 4,
        condition_on_z: bool = True,
        cond_dim: int = 0,
        upsample: str = "bilinear",
        init_std: float = 0.02,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        if len(out_shape) != 3:
            raise ConfigError(f"ResNetDecoder needs (C, H, W) images, got shape {list(out_shape)}")
        if upsample not in UPSAMPLING:
            raise ConfigError(f"ResNetDecoder upsample must be one of {list(UPSAMPLING)}, got {upsample!r}")
        self.out_shape = tuple(int(s) for s in out_shape)
        self.in_dim, self.cond_dim, self.condition_on_z = int(in_dim), int(cond_dim), bool(condition_on_z)
        side = max(self.out_shape[1:])
        self.bottom = int(bottom)
        n_up = max(0, math.ceil(math.log2(side / self.bottom)))
        widths = _widths(width, channels, n_up + 1, "ResNetDecoder")
        cbn_dim = (self.in_dim if self.condition_on_z else 0) + self.cond_dim
        self.stem = sn_layer(nn.Linear(self.in_dim, widths[0] * self.bottom**2), init_std, spectral_norm)
        self.blocks = nn.ModuleList(
            UpBlock(c_in, c_out, cbn_dim, upsample, init_std, spectral_norm)
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = sn_layer(
            nn.Conv2d(widths[-1], self.out_shape[0], 3, padding=1), init_std, spectral_norm
        )
        self.out_act = output_squash(value_range) if squash else None
        self.width0 = widths[0]

    def forward(self, z: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """(n, in_dim) [+ (n, cond_dim)] -> (n, C, H, W)."""
        if self.cond_dim and cond is None:
            raise ValueError(f"ResNetDecoder was built with cond_dim={self.cond_dim}: pass cond")
        parts = ([z] if self.condition_on_z else []) + ([cond] if self.cond_dim else [])
        c = torch.cat(parts, 1) if parts else None
        h = self.stem(z).view(z.shape[0], self.width0, self.bottom, self.bottom)
        for block in self.blocks:
            h = block(h, c)
        x = self.out_conv(F.relu(self.out_bn(h)))
        if self.out_act is not None:
            x = self.out_act(x)
        _, height, width = self.out_shape
        top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
        return x[:, :, top : top + height, left : left + width]

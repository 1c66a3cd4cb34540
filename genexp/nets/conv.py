"""DCGAN-style convolutional encoders/discriminators and decoders/generators for small images."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.nets.layers import activation, maybe_spectral, norm_2d


class ConvEncoder(nn.Module):
    """(C, H, W) image -> vector: stride-2 4x4 convs (doubling resolution steps), then a linear head."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_dim: int,
        channels: Sequence[int] = (32, 64, 128),
        activation_name: str = "leaky_relu",
        norm: Optional[str] = "batch",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        c_in = int(in_shape[0])
        layers: list[nn.Module] = []
        for i, c in enumerate(channels):
            layers.append(maybe_spectral(nn.Conv2d(c_in, int(c), 4, 2, 1), spectral_norm))
            n = norm_2d(norm, int(c)) if i > 0 else None
            if n is not None:
                layers.append(n)
            layers.append(activation(activation_name))
            c_in = int(c)
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *[int(s) for s in in_shape])).numel()
        self.head = maybe_spectral(nn.Linear(flat, int(out_dim)), spectral_norm)

    def forward(self, x: Tensor) -> Tensor:
        """Map (n, C, H, W) to (n, out_dim)."""
        return self.head(torch.flatten(self.features(x), 1))


class ConvDecoder(nn.Module):
    """vector -> (C, H, W) image: a linear stem to a small grid, then stride-2 transposed convs.

    The grid side is ceil(H / 2^len(channels)); the output is center-cropped to (H, W), so 28 px
    works as well as 32 or 64.
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        channels: Sequence[int] = (128, 64, 32),
        activation_name: str = "relu",
        norm: Optional[str] = "batch",
        out_activation: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        self.out_shape = tuple(int(s) for s in out_shape)
        c_out, h, w = self.out_shape
        n_up = len(channels)
        self.base = (math.ceil(h / 2**n_up), math.ceil(w / 2**n_up))
        self.stem = nn.Linear(int(in_dim), int(channels[0]) * self.base[0] * self.base[1])
        layers: list[nn.Module] = []
        n0 = norm_2d(norm, int(channels[0]))
        if n0 is not None:
            layers.append(n0)
        layers.append(activation(activation_name))
        for c_prev, c_next in zip(channels[:-1], channels[1:]):
            layers.append(nn.ConvTranspose2d(int(c_prev), int(c_next), 4, 2, 1))
            n = norm_2d(norm, int(c_next))
            if n is not None:
                layers.append(n)
            layers.append(activation(activation_name))
        layers.append(nn.ConvTranspose2d(int(channels[-1]), c_out, 4, 2, 1))
        if out_activation is not None:
            layers.append(out_activation)
        self.body = nn.Sequential(*layers)
        self.channels0 = int(channels[0])

    def forward(self, z: Tensor) -> Tensor:
        """Map (n, in_dim) to (n, C, H, W)."""
        x = self.stem(torch.flatten(z, 1)).view(z.shape[0], self.channels0, *self.base)
        x = self.body(x)
        _, h, w = self.out_shape
        top = (x.shape[2] - h) // 2
        left = (x.shape[3] - w) // 2
        return x[:, :, top : top + h, left : left + w]

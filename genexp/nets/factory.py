"""Picks an MLP or a conv net for a data shape, so one model config serves toys and images."""

from __future__ import annotations

import math
from typing import Literal, Optional, Sequence, get_args

from torch import nn

from genexp.constraints import PositiveInt
from genexp.errors import ConfigError
from genexp.nets.conv import ConvDecoder, ConvEncoder
from genexp.nets.layers import output_squash
from genexp.nets.mlp import MLP

Arch = Literal["auto", "mlp", "conv"]
"""A net's ``arch``: an MLP, a conv net, or ``auto`` (conv for images of at least 16 px)."""
ARCHS = get_args(Arch)


def _is_conv_image(shape: Sequence[int]) -> bool:
    return len(shape) == 3 and min(int(shape[1]), int(shape[2])) >= 16


def _resolve(arch: str, image_shape: Sequence[int]) -> str:
    if arch not in ARCHS:
        raise ConfigError(f"unknown net arch {arch!r}; choose one of {list(ARCHS)}")
    if arch == "auto":
        return "conv" if _is_conv_image(image_shape) else "mlp"
    if arch == "conv" and not _is_conv_image(image_shape):
        raise ConfigError(
            f"arch=conv needs (C, H, W) images of at least 16 px, got shape {list(image_shape)}; use arch=mlp"
        )
    return arch


def data_to_vector(
    in_shape: Sequence[int],
    out_dim: int,
    arch: Arch = "auto",
    hidden: Sequence[PositiveInt] = (512, 256),
    channels: Sequence[PositiveInt] = (32, 64, 128),
    activation_name: Optional[str] = None,
    norm: Optional[str] = None,
    spectral_norm: bool = False,
) -> nn.Module:
    """An encoder or discriminator: data of ``in_shape`` -> vector of ``out_dim``."""
    if _resolve(arch, in_shape) == "conv":
        return ConvEncoder(
            in_shape, out_dim, channels, activation_name or "leaky_relu", norm or "batch", spectral_norm
        )
    return MLP(in_shape, out_dim, hidden, activation_name or "relu", norm, spectral_norm=spectral_norm)


def vector_to_data(
    in_dim: int,
    out_shape: Sequence[int],
    value_range: Optional[Sequence[float]] = None,
    arch: Arch = "auto",
    hidden: Sequence[PositiveInt] = (256, 512),
    channels: Sequence[PositiveInt] = (128, 64, 32),
    activation_name: Optional[str] = None,
    norm: Optional[str] = None,
    squash: bool = True,
) -> nn.Module:
    """A decoder or generator: vector of ``in_dim`` -> data of ``out_shape``.

    With ``squash`` the output goes through tanh/sigmoid when ``value_range`` is (-1, 1)/(0, 1).
    """
    out_act = output_squash(value_range) if squash else None
    if _resolve(arch, out_shape) == "conv":
        return ConvDecoder(in_dim, out_shape, channels, activation_name or "relu", norm or "batch", out_act)
    return MLP(in_dim, out_shape, hidden, activation_name or "relu", norm, out_activation=out_act)


def numel(shape: Sequence[int]) -> int:
    """Number of scalars in a tensor of ``shape``."""
    return math.prod(int(s) for s in shape)

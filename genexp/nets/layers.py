"""Small named choices shared by the net builders: activations, norms, output squashing."""

from __future__ import annotations

from typing import Optional, Sequence

from torch import nn

from genexp.errors import ConfigError

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": lambda: nn.ELU(),
    "gelu": lambda: nn.GELU(),
    "silu": lambda: nn.SiLU(),
    "tanh": lambda: nn.Tanh(),
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (see ``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def norm_1d(name: Optional[str], width: int) -> Optional[nn.Module]:
    """A 1-D normalisation layer: None, 'batch' or 'layer'."""
    if name in (None, "none"):
        return None
    if name == "batch":
        return nn.BatchNorm1d(width)
    if name == "layer":
        return nn.LayerNorm(width)
    raise ConfigError(f"unknown norm {name!r}; choose none, batch or layer")


def norm_2d(name: Optional[str], channels: int) -> Optional[nn.Module]:
    """A 2-D normalisation layer: None, 'batch', 'instance' or 'group'."""
    if name in (None, "none"):
        return None
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if name == "group":
        return nn.GroupNorm(min(32, channels), channels)
    raise ConfigError(f"unknown norm {name!r}; choose none, batch, instance or group")


def output_squash(value_range: Optional[Sequence[float]]) -> Optional[nn.Module]:
    """The output activation that maps onto ``value_range``: tanh for (-1, 1), sigmoid for (0, 1)."""
    if value_range is None:
        return None
    lo, hi = float(value_range[0]), float(value_range[1])
    if (lo, hi) == (-1.0, 1.0):
        return nn.Tanh()
    if (lo, hi) == (0.0, 1.0):
        return nn.Sigmoid()
    return None


def maybe_spectral(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap a Linear/Conv layer in spectral normalisation when ``enabled``."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module

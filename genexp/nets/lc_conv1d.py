"""1-D BigGAN-style residual blocks of LC-VaDE's nets (thesis Fig. 6.1 / §9.5.2, spec §L.3): the
decoder's "Resblock up" with BatchNorm conditioned on a vector (z_rep) and the encoder's "Resblock
down". Every conv/linear goes through ``wrap`` (default :func:`layer_wrap`: N(0, 0.02) weights,
zero bias, spectral norm)."""

from __future__ import annotations

from functools import partial
from typing import Callable, Optional

import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.resnet import sn_layer

POOL_KERNELS = (2, 3)
Wrap = Callable[[nn.Module], nn.Module]


def layer_wrap(init_std: float = 0.02, spectral_norm: bool = True) -> Wrap:
    """What every conv/linear of the light-curve nets goes through: N(0, ``init_std``) weights, zero
    bias and (``spectral_norm``) spectral normalisation (:func:`genexp.nets.resnet.sn_layer`)."""
    return partial(sn_layer, init_std=init_std, spectral_norm=spectral_norm)


class ConditionalBatchNorm1d(nn.Module):
    """BatchNorm1d without affine parameters, modulated by gain (1 + g(c)) and bias b(c), where g
    and b are linear maps of the conditioning vector c (its own pair in every layer)."""

    def __init__(self, channels: int, cond_dim: int, wrap: Wrap = sn_layer) -> None:
        super().__init__()
        if cond_dim < 1:
            raise ConfigError(
                f"ConditionalBatchNorm1d needs a conditioning vector (cond_dim >= 1), got {cond_dim}"
            )
        self.bn = nn.BatchNorm1d(channels, affine=False)
        self.gain = wrap(nn.Linear(cond_dim, channels))
        self.bias = wrap(nn.Linear(cond_dim, channels))

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Normalise ``x`` (n, C, L) and modulate it with ``cond`` (n, cond_dim)."""
        return self.bn(x) * (1 + self.gain(cond)).unsqueeze(-1) + self.bias(cond).unsqueeze(-1)


class UpBlock1d(nn.Module):
    """Resblock up: CBN(c), ReLU, linear upsampling x2, conv3, CBN(c), ReLU, conv3; skip: upsampling
    x2, conv1 (when the widths differ; identity otherwise)."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, wrap: Wrap = sn_layer) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm1d(in_ch, cond_dim, wrap)
        self.conv1 = wrap(nn.Conv1d(in_ch, out_ch, 3, padding=1))
        self.bn2 = ConditionalBatchNorm1d(out_ch, cond_dim, wrap)
        self.conv2 = wrap(nn.Conv1d(out_ch, out_ch, 3, padding=1))
        self.skip = wrap(nn.Conv1d(in_ch, out_ch, 1)) if in_ch != out_ch else nn.Identity()

    @staticmethod
    def _up(x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="linear", align_corners=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """(n, in_ch, L) -> (n, out_ch, 2L)."""
        h = self.conv1(self._up(F.relu(self.bn1(x, cond))))
        h = self.conv2(F.relu(self.bn2(h, cond)))
        return h + self.skip(self._up(x))


class DownBlock1d(nn.Module):
    """Resblock down: ReLU, conv3, ReLU, conv3, average pooling; skip: conv1, pooling. ``first``
    (the encoder's first block): no leading ReLU, and the skip pools before its conv1.
    ``pool_kernel`` 2 (stride 2) or 3 (stride 2, padding 1; the thesis text's kernel 3): both halve
    the length."""

    def __init__(
        self, in_ch: int, out_ch: int, first: bool = False, pool_kernel: int = 3, wrap: Wrap = sn_layer
    ) -> None:
        super().__init__()
        if pool_kernel not in POOL_KERNELS:
            raise ConfigError(
                f"model.encoder.pool_kernel must be one of {list(POOL_KERNELS)}, got {pool_kernel}"
            )
        self.first = bool(first)
        self.pool_kernel = int(pool_kernel)
        self.conv1 = wrap(nn.Conv1d(in_ch, out_ch, 3, padding=1))
        self.conv2 = wrap(nn.Conv1d(out_ch, out_ch, 3, padding=1))
        self.skip = wrap(nn.Conv1d(in_ch, out_ch, 1))

    def pool(self, x: Tensor) -> Tensor:
        """Average pooling that halves the length."""
        if self.pool_kernel == 2:
            return F.avg_pool1d(x, 2)
        return F.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> Tensor:
        """(n, in_ch, L) -> (n, out_ch, L/2)."""
        h = x if self.first else F.relu(x)
        h = self.pool(self.conv2(F.relu(self.conv1(h))))
        skip = self.skip(self.pool(x)) if self.first else self.pool(self.skip(x))
        return h + skip


def check_widths(channels: Optional[list[int]], what: str) -> list[int]:
    """The block widths of a net as ints (ConfigError naming ``what`` when empty or not positive)."""
    widths = [int(c) for c in (channels or [])]
    if not widths or min(widths) < 1:
        raise ConfigError(f"{what} must be a non-empty list of positive widths, got {channels}")
    return widths

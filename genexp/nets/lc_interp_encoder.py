"""The interpolation-prediction encoder for irregular folded light curves (Shukla & Marlin 2019;
thesis Table 9.2): learnable RBF interpolation to fixed reference phases, then 1-D residual down
blocks and a linear head."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from genexp.data.lightcurve_packing import unpack
from genexp.errors import ConfigError
from genexp.nets.lc_conv1d import DownBlock1d, check_widths, layer_wrap

VALUE_CHANNELS = 2  # normalised magnitude and error


def circular_sq_dist(ref: Tensor, t: Tensor) -> Tensor:
    """Squared phase distance on the unit circle between ``ref`` (R,) and ``t`` (n, T): (n, R, T)."""
    d = (ref.view(1, -1, 1) - t.unsqueeze(1)).abs()
    return torch.minimum(d, 1 - d).pow(2)


class InterpolationBlock(nn.Module):
    """Maps irregular (t, values, mask) to ``num_ref`` reference phases: per value channel a
    low-pass (RBF bandwidth alpha) and a transient = high-pass (kappa * alpha, kappa > 1) minus
    low-pass, plus the log intensity (kernel density of the observations), which the value
    channels share because they share times and mask; alpha and kappa are learnable."""

    def __init__(self, num_ref: int = 64, channels: int = VALUE_CHANNELS) -> None:
        super().__init__()
        self.register_buffer("ref", (torch.arange(num_ref) + 0.5) / num_ref)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(num_ref**2 / 8.0)))
        self.log_kappa_m1 = nn.Parameter(torch.tensor(math.log(9.0)))
        self.out_channels = 2 * channels + 1

    @staticmethod
    def _smooth(d2: Tensor, values: Tensor, mask: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
        w = torch.exp(-alpha * d2) * mask.unsqueeze(1)  # n, R, T
        dens = w.sum(-1)  # n, R
        return torch.bmm(values, w.transpose(1, 2)) / (dens.unsqueeze(1) + 1e-6), dens

    def forward(self, t: Tensor, values: Tensor, mask: Tensor) -> Tensor:
        """t, mask (n, T), values (n, C, T) -> (n, 2C + 1, R)."""
        d2 = circular_sq_dist(self.ref, t)
        alpha = self.log_alpha.exp()
        low, dens = self._smooth(d2, values, mask, alpha)
        high, _ = self._smooth(d2, values, mask, alpha * (1 + self.log_kappa_m1.exp()))
        return torch.cat([low, high - low, torch.log1p(dens).unsqueeze(1)], dim=1)


class InterpolationEncoder(nn.Module):
    """Packed light curves (n, 5, T) -> (n, out_dim) as thesis Table 9.2: the interpolation block
    (2D -> 2D + 1 channels at ``num_ref`` phases), residual down blocks of widths ``channels``
    (4C each in the thesis, 4 blocks; each halves the length; the first one without a leading
    ReLU and with the pooling before its shortcut conv), ReLU, flatten, one linear layer to
    ``out_dim`` (the mean and log-variance heads together). N(0, ``init_std``) weights and spectral
    norm (``spectral_norm``) on every conv/linear; no BatchNorm (BigGAN's D/E blocks have none)."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_dim: int,
        num_ref: int = 64,
        channels: Sequence[int] = (64, 64, 64, 64),
        pool_kernel: int = 3,
        spectral_norm: bool = True,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        wrap = layer_wrap(init_std, spectral_norm)
        widths = check_widths(list(channels), "model.encoder.channels")
        if num_ref % 2 ** len(widths):
            raise ConfigError(
                f"model.encoder.num_ref={num_ref} must be divisible by 2^{len(widths)} (a halving per block)"
            )
        self.interp = InterpolationBlock(num_ref)
        blocks, prev = [], self.interp.out_channels
        for i, w in enumerate(widths):
            blocks.append(DownBlock1d(prev, w, first=i == 0, pool_kernel=pool_kernel, wrap=wrap))
            prev = w
        self.blocks = nn.Sequential(*blocks)
        self.head = wrap(nn.Linear(prev * (num_ref // 2 ** len(widths)), out_dim))

    def forward(self, x: Tensor) -> Tensor:
        """The head's output for packed curves."""
        b = unpack(x)
        h = self.blocks(self.interp(b.t, torch.stack([b.mag, b.err], 1), b.mask))
        return self.head(torch.relu(h).flatten(1))

"""The interpolation-prediction encoder for irregular folded light curves (Shukla & Marlin 2019;
thesis Table 9.1): learnable RBF interpolation to fixed reference phases, then 1-D residual down
blocks and a linear head."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from genexp.data.lightcurve_packing import unpack
from genexp.nets.lc_conv1d import ResBlock1d

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
    """Packed light curves (n, 5, T) -> (n, out_dim): interpolation block, 1x1 channel mixing,
    residual down blocks of widths ``channels`` (each halves the length), flatten, linear."""

    def __init__(
        self, in_shape: Sequence[int], out_dim: int, num_ref: int = 64, channels: Sequence[int] = (16, 16, 16)
    ) -> None:
        super().__init__()
        self.interp = InterpolationBlock(num_ref)
        widths = [int(c) for c in channels]
        self.mix = nn.Conv1d(self.interp.out_channels, widths[0], 1)
        blocks, prev = [], widths[0]
        for w in widths:
            blocks.append(ResBlock1d(prev, w, "down"))
            prev = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(prev * (num_ref // 2 ** len(widths)), out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """The head's output for packed curves."""
        b = unpack(x)
        h = self.interp(b.t, torch.stack([b.mag, b.err], 1), b.mask)
        h = self.blocks(self.mix(h))
        return self.head(torch.relu(h).flatten(1))

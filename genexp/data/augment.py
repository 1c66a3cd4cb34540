"""Batched SimCLR-style image augmentations with independent parameters per image.

torchvision's transforms draw one set of random parameters per call (per batch); contrastive
pre-training needs a different crop / jitter per image, so this applies them as batched tensor
ops: random resized crop + horizontal flip through one ``affine_grid``/``grid_sample``, then
brightness / contrast / saturation jitter (with probability ``jitter_p``) and random grayscale.
Images are in [-1, 1]; outputs are clamped to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def _u(n: int, lo: float, hi: float, gen: torch.Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=gen.device)


@dataclass
class ImageAugment:
    """Callable ``(x, generator) -> augmented x``; set a strength to 0 to switch its op off.

    Random parameters are drawn from the generator on its own device (give one on ``x``'s
    device: no host-to-device copy per batch)."""

    crop_scale: tuple[float, float] = (0.2, 1.0)
    flip: bool = True
    jitter: float = 0.4  # brightness/contrast/saturation factors drawn from [1 - jitter, 1 + jitter]
    jitter_p: float = 0.8
    grayscale_p: float = 0.2

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        """Augment a batch (n, C, H, W) in [-1, 1]."""
        n, dev = x.shape[0], x.device
        area = _u(n, *self.crop_scale, gen)
        log_ratio = _u(n, math.log(3 / 4), math.log(4 / 3), gen)
        sx = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
        sy = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
        tx, ty = (1 - sx) * _u(n, -1, 1, gen), (1 - sy) * _u(n, -1, 1, gen)
        if self.flip:
            flip = torch.where(_u(n, 0, 1, gen) < 0.5, -1.0, 1.0)
        else:
            flip = torch.ones(n, device=gen.device)
        theta = torch.zeros(n, 2, 3, device=gen.device)
        theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx * flip, tx, sy, ty
        grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        if self.jitter > 0 and x.shape[1] == 3:
            on = (_u(n, 0, 1, gen) < self.jitter_p).float()
            out = self._jitter(out, on, gen)
        if self.grayscale_p > 0 and x.shape[1] == 3:
            gray = (_u(n, 0, 1, gen) < self.grayscale_p).to(dev)
            out = torch.where(gray[:, None, None, None], out.mean(1, keepdim=True).expand_as(out), out)
        return out.clamp(-1, 1)

    def _jitter(self, x: Tensor, on: Tensor, gen: torch.Generator) -> Tensor:
        n, j = x.shape[0], self.jitter

        def factor() -> Tensor:
            return (1 + on * (_u(n, 1 - j, 1 + j, gen) - 1)).to(x.device)[:, None, None, None]

        x = (x + 1) * factor() - 1  # brightness (in [0, 2] units)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor() + mean  # contrast
        gray = x.mean(1, keepdim=True)
        return (x - gray) * factor() + gray  # saturation

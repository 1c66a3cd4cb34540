"""Sliced-Wasserstein autoencoder (Kolouri et al., ICLR 2019): a deterministic autoencoder whose
codes are pulled toward the prior by the sliced 2-Wasserstein distance, estimated with random
one-dimensional projections (no discriminator, no posterior variance)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.errors import ConfigError
from genexp.models.deterministic_ae import DeterministicAutoencoder


def sliced_wasserstein2(a: Tensor, b: Tensor, num_projections: int) -> Tensor:
    """SW_2^2 between the empirical distributions of ``a`` and ``b`` (both (n, d)): the mean over
    ``num_projections`` random unit directions of the squared distance between sorted projections."""
    theta = F.normalize(torch.randn(num_projections, a.shape[1], device=a.device, dtype=a.dtype), dim=1)
    pa = (a @ theta.T).sort(dim=0).values
    pb = (b @ theta.T).sort(dim=0).values
    return (pa - pb).pow(2).mean()


class SlicedWassersteinAE(DeterministicAutoencoder):
    """L = reconstruction + ``beta`` * SW_2^2(codes, prior draws of the same batch size)."""

    def __init__(self, *args: Any, num_projections: PositiveInt = 50, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if num_projections < 1:
            raise ConfigError(f"model.num_projections must be >= 1, got {num_projections}")
        self.num_projections = int(num_projections)

    def penalty(self, z: Tensor) -> Tensor:
        """The sliced-Wasserstein distance of the batch's codes to as many prior draws."""
        return sliced_wasserstein2(z, self.prior.sample(len(z)).to(z), self.num_projections)

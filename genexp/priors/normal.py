"""The standard normal prior N(0, I)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genexp.losses.gaussian import kl_diag_to_standard_normal


class NormalPrior(nn.Module):
    """N(0, I) over R^dim: one component, nothing to learn.

    ``is_standard_normal`` tells models that closed forms for N(0, I) apply (e.g. the batch-Gaussian
    divergences of WVAE / JS-VAE); :meth:`kl_from` is the KL in closed form.
    """

    num_components = 1
    is_standard_normal = True

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = int(dim)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def sample(self, n: int) -> Tensor:
        """``n`` draws of shape (n, dim) on the prior's device."""
        return torch.randn(n, self.dim, device=self._anchor.device)

    def log_prob(self, z: Tensor) -> Tensor:
        """log N(z; 0, I) per row."""
        return -0.5 * (z.pow(2).sum(-1) + self.dim * math.log(2 * math.pi))

    def kl_from(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(N(mu, diag exp(logvar)) || N(0, I)) per row, in closed form (``z`` is not used)."""
        return kl_diag_to_standard_normal(mu, logvar)

    def sample_shrunk(self, n: int, variance: float) -> Tensor:
        """``n`` draws of N(0, (1 - ``variance``) I) (clamped at 0): the prior with its variance
        reduced by ``variance`` (GEN's stationary code distribution, ``variance`` = h^2)."""
        return self.sample(n) * math.sqrt(max(1.0 - variance, 0.0))

    def responsibilities(self, z: Tensor) -> Tensor:
        """Posterior component probabilities: all ones (a single component)."""
        return torch.ones(z.shape[0], 1, device=z.device, dtype=z.dtype)

    def gaussian_moments(self) -> tuple[Tensor, Tensor]:
        """Mean vector and covariance matrix of the prior."""
        dev = self._anchor.device
        return torch.zeros(self.dim, device=dev), torch.eye(self.dim, device=dev)

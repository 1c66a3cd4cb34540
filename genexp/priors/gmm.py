"""A diagonal Gaussian-mixture prior with optionally learnable means, variances and weights."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.gaussian import diag_gaussian_log_prob


class GMMPrior(nn.Module):
    """p(z) = sum_k pi_k N(z; mu_k, diag(exp(logvar_k))).

    Means start on a scaled orthogonal (``init="orthogonal"``) or random-normal basis, or evenly
    on a circle of radius ``mean_scale`` in the first two dimensions (``init="circle"``: the 2-D
    mixture target of GEN's semi-supervised MNIST, component k at angle 2πk/K); the
    log-variances start at ``init_logvar``. ``learn_means``, ``learn_logvars`` and
    ``learn_weights`` turn the parameters into trainable ones (weights via softmax logits).
    ``min_std`` floors the component standard deviation. KL(q || p) has no closed form:
    :meth:`kl_from` is the one-sample Monte-Carlo estimate at the reparameterised draw.
    """

    is_standard_normal = False

    def __init__(
        self,
        dim: PositiveInt,
        num_components: PositiveInt = 10,
        learn_means: bool = True,
        learn_logvars: bool = True,
        learn_weights: bool = False,
        init: Literal["orthogonal", "normal", "circle"] = "orthogonal",
        mean_scale: float = 1.0,
        init_logvar: float = 0.0,
        min_std: NonNegativeFloat = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if int(num_components) < 1:
            raise ConfigError(f"prior.num_components must be >= 1, got {num_components}")
        if int(dim) < 1:
            raise ConfigError(f"prior dimension must be >= 1, got {dim}")
        if init not in ("orthogonal", "normal", "circle"):
            raise ConfigError(f"prior.init must be 'orthogonal', 'normal' or 'circle', got {init!r}")
        if init == "circle" and int(dim) < 2:
            raise ConfigError(f"prior.init=circle needs a latent of >= 2 dimensions, got {dim}")
        self.dim = int(dim)
        self.num_components = int(num_components)
        self.min_std = float(min_std)
        gen = torch.Generator().manual_seed(seed)
        if init == "orthogonal":
            a = torch.randn(
                max(self.dim, self.num_components), max(self.dim, self.num_components), generator=gen
            )
            q, _ = torch.linalg.qr(a)
            means = q[: self.num_components, : self.dim] * mean_scale * math.sqrt(self.dim)
        elif init == "circle":
            angle = 2 * math.pi * torch.arange(self.num_components, dtype=torch.float64) / self.num_components
            means = torch.zeros(self.num_components, self.dim)
            means[:, 0], means[:, 1] = mean_scale * angle.cos(), mean_scale * angle.sin()
        else:
            means = torch.randn(self.num_components, self.dim, generator=gen) * mean_scale
        logvars = torch.full((self.num_components, self.dim), float(init_logvar))
        logits = torch.zeros(self.num_components)
        self.means = nn.Parameter(means, requires_grad=learn_means)
        self.logvars = nn.Parameter(logvars, requires_grad=learn_logvars)
        self.logits = nn.Parameter(logits, requires_grad=learn_weights)

    @property
    def weights(self) -> Tensor:
        """Mixture weights pi (K,)."""
        return torch.softmax(self.logits, 0)

    @property
    def log_weights(self) -> Tensor:
        """log pi (K,)."""
        return torch.log_softmax(self.logits, 0)

    @property
    def clamped_logvars(self) -> Tensor:
        """Log-variances with the standard-deviation floor applied."""
        return self.logvars.clamp(min=2 * math.log(self.min_std))

    def component_log_prob(self, z: Tensor) -> Tensor:
        """log N(z; mu_k, Sigma_k) for every row and component, shape (n, K)."""
        lv = self.clamped_logvars
        diff = z.unsqueeze(1) - self.means.unsqueeze(0)
        return -0.5 * ((diff.pow(2) / lv.exp()).sum(-1) + lv.sum(-1) + self.dim * math.log(2 * math.pi))

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z) per row."""
        return torch.logsumexp(self.component_log_prob(z) + self.log_weights, dim=1)

    def kl_from(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(N(mu, diag exp(logvar)) || p) per row, estimated with one sample ``z`` drawn from
        q: log q(z|x) - log p(z)."""
        return diag_gaussian_log_prob(z, mu, logvar) - self.log_prob(z)

    def responsibilities(self, z: Tensor) -> Tensor:
        """p(k | z) for every row, shape (n, K)."""
        return torch.softmax(self.component_log_prob(z) + self.log_weights, dim=1)

    def sample_with_components(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` draws and the component index of each."""
        k = torch.multinomial(self.weights.detach(), n, replacement=True)
        std = (0.5 * self.clamped_logvars[k]).exp()
        return self.means[k] + std * torch.randn_like(std), k

    def sample(self, n: int) -> Tensor:
        """``n`` draws of shape (n, dim)."""
        return self.sample_with_components(n)[0]

    def sample_shrunk(self, n: int, variance: float) -> Tensor:
        """``n`` draws of the mixture with every component's variance reduced by ``variance``
        (floored at 1e-6; GEN's stationary code distribution, ``variance`` = h^2): components as
        drawn by :meth:`sample_with_components`, then mu_k + sqrt(var_k - variance) * eps."""
        _, k = self.sample_with_components(n)
        std = (self.clamped_logvars.exp() - variance).clamp_min(1e-6).sqrt()
        return self.means[k] + std[k] * torch.randn(n, self.dim, device=std.device)

    def gaussian_moments(self) -> tuple[Tensor, Tensor]:
        """Mean vector and covariance matrix of the mixture (moment matching)."""
        w = self.weights
        mean = (w[:, None] * self.means).sum(0)
        var = self.clamped_logvars.exp()
        second = (
            w[:, None, None] * (torch.diag_embed(var) + self.means[:, :, None] * self.means[:, None, :])
        ).sum(0)
        return mean, second - mean[:, None] * mean[None, :]

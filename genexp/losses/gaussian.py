"""Closed forms for diagonal Gaussians: KL to N(0, I), log-density, reparameterised draws."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def kl_diag_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per row: 0.5 * sum(mu^2 + s^2 - log s^2 - 1)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


def diag_gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag exp(logvar)) per row."""
    return -0.5 * (((z - mu).pow(2) / logvar.exp()) + logvar + math.log(2 * math.pi)).sum(-1)


def split_gaussian(head: Tensor) -> tuple[Tensor, Tensor]:
    """An encoder's (n, 2d) output as the posterior mean and log-variance, each (n, d); the
    log-variance clamped to [-30, 20] so exp() stays finite."""
    mu, logvar = head.chunk(2, dim=1)
    return mu, logvar.clamp(-30.0, 20.0)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """A draw mu + sigma * eps with eps ~ N(0, I) that gradients flow through."""
    return mu + (0.5 * logvar).exp() * torch.randn_like(mu)

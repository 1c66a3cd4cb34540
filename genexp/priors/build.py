"""The prior a model gets from its config: a factory, an instance, or nothing (N(0, I))."""

from __future__ import annotations

from typing import Any

from torch import nn

from genexp.priors.normal import NormalPrior


def build_prior(prior: Any, latent_dim: int) -> nn.Module:
    """A prior module from a factory (Hydra partial), an instance, or None (N(0, I))."""
    if prior is None:
        return NormalPrior(latent_dim)
    if isinstance(prior, nn.Module):
        return prior
    return prior(dim=latent_dim)

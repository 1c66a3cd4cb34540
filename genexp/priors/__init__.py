"""Latent priors: ``sample(n)``, ``log_prob(z)``, ``responsibilities(z)``."""

from genexp.priors.gmm import GMMPrior
from genexp.priors.normal import NormalPrior

__all__ = ["GMMPrior", "NormalPrior"]

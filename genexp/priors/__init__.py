"""Latent priors: ``sample(n)``, ``log_prob(z)``, ``responsibilities(z)``, and the divergence
each supports (``kl_from``); :func:`build_prior` turns a config value into one."""

from genexp.priors.build import build_prior
from genexp.priors.floored_gmm import FlooredGMMPrior
from genexp.priors.gmm import GMMPrior
from genexp.priors.normal import NormalPrior

__all__ = ["FlooredGMMPrior", "GMMPrior", "NormalPrior", "build_prior"]

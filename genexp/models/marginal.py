"""Shared frame of WVAE and JS-VAE: R compares a Gaussian fitted to the batch of encoder means with
the prior's Gaussian moments (thesis eqs. 6.2-6.5)."""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from genexp.errors import ConfigError
from genexp.losses.divergences import batch_gaussian
from genexp.models.autoencoder import AutoencoderModule


class GaussianMarginalAE(AutoencoderModule):
    """L = per-sample SSE (the base's Gaussian NLL with obs_std sqrt(1/2), + const) + beta * R, with
    R = :meth:`marginal_divergence` between N(m, S), fitted to the batch of posterior means
    (unbiased S, so batches need >= 2 rows and > J rows for a full-rank S), and p(z).

    Priors: N(0, I) is used exactly. A prior with more components (``prior=gmm``) is only
    accepted with ``moment_match_prior=true``, and then R compares N(m, S) with the mixture's
    mean and covariance, not with the mixture; any other prior raises :class:`ConfigError`.
    ``jitter`` (times I) is added to covariances before square roots/Cholesky factors; the
    divergence is computed in float64 and returned in the codes' dtype.
    """

    def __init__(
        self, *args: Any, moment_match_prior: bool = False, jitter: float = 1e-6, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        name = type(self).__name__
        if not self.standard_prior:
            if not hasattr(self.prior, "gaussian_moments"):
                raise ConfigError(
                    f"{name} needs a Gaussian prior (prior=normal) or one with gaussian_moments(); "
                    f"got {type(self.prior).__name__}"
                )
            if not moment_match_prior:
                raise ConfigError(
                    f"{name} matches the batch of codes to a Gaussian prior, but prior "
                    f"{type(self.prior).__name__} is not N(0, I): use prior=normal, or set "
                    "model.moment_match_prior=true to match its mean and covariance only"
                )
        if jitter < 0:
            raise ConfigError(f"model.jitter must be >= 0, got {jitter}")
        self.moment_match_prior = bool(moment_match_prior)
        self.jitter = float(jitter)

    @property
    def standard_prior(self) -> bool:
        """Whether the prior says it is N(0, I) (``is_standard_normal``): R then uses the closed forms
        for N(0, I) instead of moments."""
        return bool(getattr(self.prior, "is_standard_normal", False))

    def prior_moments(self) -> tuple[Optional[Tensor], Optional[Tensor]]:
        """The prior's mean and covariance in float64; (None, None) for N(0, I)."""
        if self.standard_prior:
            return None, None
        m, s = self.prior.gaussian_moments()
        return m.double(), s.double()

    def marginal_divergence(self, m: Tensor, s: Tensor, pm: Optional[Tensor], ps: Optional[Tensor]) -> Tensor:
        """R between N(m, S) and N(pm, ps) (None: N(0, I)); subclasses define it."""
        raise NotImplementedError

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """R for the batch (a scalar). A batch of one row has no covariance: an error in training,
        0 in evaluation (a last, one-row validation batch)."""
        if mu.shape[0] < 2:
            if self.training:
                raise ConfigError(
                    f"{type(self).__name__} fits a Gaussian to each batch: dataset.batch_size must be >= 2"
                )
            return mu.new_zeros(())
        m, s = batch_gaussian(mu.double())
        return self.marginal_divergence(m, s, *self.prior_moments()).to(mu.dtype)

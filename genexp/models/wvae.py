"""WVAE (thesis §6.2, spec §A.2): reconstruction + beta * squared 2-Wasserstein distance between a
Gaussian fitted to the batch of encoder means and the prior."""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from genexp.errors import ConfigError
from genexp.losses.divergences import w2_squared_gaussians
from genexp.models.marginal import GaussianMarginalAE


class WVAE(GaussianMarginalAE):
    """R = ||m - m_p||^2 + tr(S + S_p - 2 (S S_p)^{1/2}) (eq. 6.5, the squared W2), with the square
    root's eigenvalues clamped at ``sqrt_eps``. The posterior variance is not regularised (it
    shrinks freely, as in the thesis' h_q(z|x) of about -48 nats at J = 10)."""

    def __init__(self, *args: Any, sqrt_eps: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sqrt_eps <= 0:
            raise ConfigError(f"model.sqrt_eps must be > 0, got {sqrt_eps}")
        self.sqrt_eps = float(sqrt_eps)

    def marginal_divergence(self, m: Tensor, s: Tensor, pm: Optional[Tensor], ps: Optional[Tensor]) -> Tensor:
        """Squared W2 between N(m, S) and the prior's Gaussian."""
        return w2_squared_gaussians(m, s, pm, ps, eps=self.sqrt_eps, jitter=self.jitter)

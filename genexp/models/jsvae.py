"""JS-VAE (thesis §6.2, spec §A.3) and its relatives IKL-VAE and FKL-VAE: reconstruction + beta * a
divergence between a Gaussian fitted to the batch of encoder means and the prior."""

from __future__ import annotations

from typing import Any, Literal, Optional, get_args

from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.errors import ConfigError
from genexp.losses.divergences import JS_METHODS, JSMethod, js_gaussians, kl_gaussians
from genexp.models.marginal import GaussianMarginalAE

Divergence = Literal["js", "ikl", "fkl"]
DIVERGENCES = get_args(Divergence)


class JSVAE(GaussianMarginalAE):
    """R between q = N(m, S) (batch fit of the posterior means) and p (the prior's Gaussian):

    - ``divergence=js`` (JS-VAE): Jensen-Shannon, approximated by ``js_method`` (the thesis gives
      no formula): ``moment_matched`` (default; an upper bound on the true JS), ``symmetric_kl``
      or ``monte_carlo`` (``mc_samples`` reparameterised draws per side).
    - ``divergence=ikl`` (IKL-VAE): KL(q || p) in closed form (eq. 6.4).
    - ``divergence=fkl`` (FKL-VAE): KL(p || q) in closed form.
    """

    def __init__(
        self,
        *args: Any,
        divergence: Divergence = "js",
        js_method: JSMethod = "moment_matched",
        mc_samples: PositiveInt = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if divergence not in DIVERGENCES:
            raise ConfigError(
                f"model.divergence={divergence!r} is unknown; choose one of {list(DIVERGENCES)}"
            )
        if js_method not in JS_METHODS:
            raise ConfigError(f"model.js_method={js_method!r} is unknown; choose one of {list(JS_METHODS)}")
        if int(mc_samples) < 2:
            raise ConfigError(f"model.mc_samples must be >= 2, got {mc_samples}")
        self.divergence = divergence
        self.js_method = js_method
        self.mc_samples = int(mc_samples)

    def marginal_divergence(self, m: Tensor, s: Tensor, pm: Optional[Tensor], ps: Optional[Tensor]) -> Tensor:
        """JS, KL(q || p) or KL(p || q) between N(m, S) and the prior's Gaussian."""
        if self.divergence == "ikl":
            return kl_gaussians(m, s, pm, ps, jitter=self.jitter)
        if self.divergence == "fkl":
            return kl_gaussians(pm, ps, m, s, jitter=self.jitter)
        return js_gaussians(
            m, s, pm, ps, method=self.js_method, n_samples=self.mc_samples, jitter=self.jitter
        )

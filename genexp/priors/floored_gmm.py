"""MPCC's mixture prior (thesis §7.2, spec §B.2 / §O): fixed uniform weights, learnable means and
log-variances, orthogonal unit-norm mean init, and the official code's additive standard-deviation
floor."""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
from torch import Tensor

from genexp.constraints import NonNegativeFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.priors.gmm import GMMPrior

FloorMode = Literal["code", "consistent"]
FLOOR_MODES = get_args(FloorMode)


class FlooredGMMPrior(GMMPrior):
    """p(z) = (1/K) sum_k N(z; mu_k, diag s_k^2) with s_k = exp(lv_k / 2) + ``std_floor`` when sampling.

    ``floor_mode="code"`` (default) reproduces the official code: samples use that s_k, while
    densities and responsibilities use the variance exp(lv_k) + ``std_floor``^2 (not s_k^2; spec
    §Q8). ``"consistent"`` uses s_k^2 everywhere. ``mean_norm``: the orthogonal init gives every mean
    this Euclidean norm (the code's ``init.orthogonal_`` = 1). ``init_logvar``: lv at the start (1).
    """

    def __init__(
        self,
        dim: PositiveInt,
        num_components: PositiveInt = 10,
        std_floor: NonNegativeFloat = 0.5,
        floor_mode: FloorMode = "code",
        mean_norm: float = 1.0,
        init: Literal["orthogonal", "normal"] = "orthogonal",
        init_logvar: float = 1.0,
        learn_means: bool = True,
        learn_logvars: bool = True,
        seed: int = 0,
    ) -> None:
        if floor_mode not in FLOOR_MODES:
            raise ConfigError(f"prior.floor_mode must be one of {list(FLOOR_MODES)}, got {floor_mode!r}")
        if std_floor < 0:
            raise ConfigError(f"prior.std_floor must be >= 0, got {std_floor}")
        scale = mean_norm / math.sqrt(dim) if init == "orthogonal" else mean_norm
        super().__init__(
            dim,
            num_components,
            learn_means,
            learn_logvars,
            learn_weights=False,
            init=init,
            mean_scale=scale,
            init_logvar=init_logvar,
            seed=seed,
        )
        self.std_floor = float(std_floor)
        self.floor_mode = floor_mode

    def sample_stds(self) -> Tensor:
        """The components' standard deviations used for sampling, (K, J)."""
        return (0.5 * self.logvars).exp() + self.std_floor

    @property
    def clamped_logvars(self) -> Tensor:
        """Log-variances used in densities and responsibilities (the floor applied)."""
        if self.floor_mode == "consistent":
            return 2.0 * self.sample_stds().log()
        floor = torch.full_like(self.logvars, 2.0 * math.log(self.std_floor)) if self.std_floor > 0 else None
        return torch.logaddexp(self.logvars, floor) if floor is not None else self.logvars

    def sample_with_components(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` reparameterised draws mu_k + s_k * eps and their component indices."""
        k = torch.multinomial(self.weights.detach(), n, replacement=True)
        std = self.sample_stds()[k]
        return self.means[k] + std * torch.randn_like(std), k

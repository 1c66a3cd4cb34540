"""MPCC — Matching Priors and Conditionals for Clustering (thesis ch. 7-8, spec §B.2)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.clustering import cluster_cross_entropy, component_entropy_loss
from genexp.models.aim import AIM


class MPCC(AIM):
    """A GAN whose generator G(z, y) draws from a learnable Gaussian-mixture prior (y ~ uniform,
    z ~ N(mu_y, s_y^2)), an encoder q(z|x), and the clustering posterior q(y|z) = the prior's
    responsibilities. ``cluster(x)`` = argmax_k q(y=k | z = mu(x)).

    Losses (eqs. 7.12-7.16): hinge loss for D and G (Loss I; the G step also moves the prior's means
    and log-variances through the reparameterised z), the encoder NLL / dim(x) (Loss II a), and on
    the first of the ``e_steps`` encoder steps of every iteration the cluster cross-entropy L_c on the
    prior samples (Loss II b) plus ``lambda_p`` times the components' negative entropy L_p (Loss III),
    which then also update the prior (Algorithm 1; as in the official code the encoder NLL of that
    step reaches the prior through the non-detached z).

    ``num_clusters`` (K) sizes the prior and the generator's class conditioning. The prior has its
    own learning rate ``prior_lr`` (eta_p): it is a second parameter group of the G optimizer, so G
    and prior keep separate Adam states exactly as with two optimizers, and the encoder step that
    updates the prior steps that optimizer with G's gradients unset.
    """

    def __init__(
        self,
        *,
        generator: Callable[..., nn.Module],
        prior: Any,
        num_clusters: PositiveInt = 10,
        prior_lr: PositiveFloat = 1.6e-3,
        lambda_p: NonNegativeFloat = 0.01,
        **kwargs: Any,
    ) -> None:
        if not num_clusters or int(num_clusters) < 1:
            raise ConfigError(
                f"model.num_clusters must be a positive integer, got {num_clusters} (the dataset has no "
                "classes? set model.num_clusters)"
            )
        k = int(num_clusters)
        if callable(prior) and not isinstance(prior, nn.Module):
            prior = functools.partial(prior, num_components=k)
        super().__init__(generator=functools.partial(generator, num_classes=k), prior=prior, **kwargs)
        self.num_clusters = k
        if not hasattr(self.prior, "sample_with_components") or not hasattr(self.prior, "component_log_prob"):
            raise ConfigError(
                f"mpcc needs a mixture prior (genexp.priors.FlooredGMMPrior), got {type(self.prior).__name__}"
            )
        if prior_lr <= 0 or lambda_p < 0:
            raise ConfigError(
                f"model.prior_lr must be > 0 and model.lambda_p >= 0, got {prior_lr} and {lambda_p}"
            )
        self.prior_lr, self.lambda_p = float(prior_lr), float(lambda_p)

    def draw_latents(self, n: int) -> tuple[Tensor, Optional[Tensor]]:
        """``n`` prior draws z (reparameterised) and their components y."""
        return self.prior.sample_with_components(n)

    def infer_component(self, z: Tensor) -> Tensor:
        """argmax_k q(y=k | z)."""
        return self.prior.responsibilities(z).argmax(dim=1)

    def cluster(self, x: Tensor) -> Tensor:
        """The cluster of each row of ``x``: argmax of the responsibilities at the encoder mean."""
        return self.infer_component(self.encode(x))

    def encoder_losses(self, z: Tensor, y: Optional[Tensor], first: bool) -> dict[str, Tensor]:
        """NLL / dim(x); on the first encoder step also L_c + lambda_p * L_p."""
        if not first:
            return super().encoder_losses(z.detach(), y, first)
        out = super().encoder_losses(z, y, first)
        prior = self.prior
        l_c = cluster_cross_entropy(prior.component_log_prob(z) + prior.log_weights, y)
        l_p = component_entropy_loss(prior.logvars)
        out.update(
            l_c=l_c,
            l_p=l_p,
            prior_std=prior.sample_stds().mean().detach(),
            loss=out["loss"] + l_c + self.lambda_p * l_p,
        )
        return out

    def encoder_optimizers(self, optimizers: list[Any], first: bool) -> list[Any]:
        """The encoder's optimizer, plus on the first step the G optimizer (its prior group)."""
        return [optimizers[2], optimizers[0]] if first else [optimizers[2]]

    def generator_param_groups(self) -> list[Any]:
        """G's parameters, and the prior's as a group with learning rate ``prior_lr``."""
        prior = [p for p in self.prior.parameters() if p.requires_grad]
        groups: list[Any] = [{"params": [p for p in self.generator.parameters() if p.requires_grad]}]
        return groups + ([{"params": prior, "lr": self.prior_lr}] if prior else [])

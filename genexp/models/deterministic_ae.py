"""Autoencoders with a deterministic encoder z = E(x) and a latent penalty (GEN, AAE, plain AE)."""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch
from torch import Tensor

from genexp.errors import ConfigError
from genexp.losses.likelihoods import squared_error
from genexp.models.autoencoder import AutoencoderModule

Reduction = Literal["mean", "sum"]
"""How a per-scalar loss is reduced over a sample's scalars."""
RECON_REDUCTIONS = get_args(Reduction)


class DeterministicAutoencoder(AutoencoderModule):
    """L = reconstruction + ``beta`` * penalty(z), z = E(x) (no sampling, no posterior variance).

    ``recon_reduction``: ``mean`` = squared error averaged over scalars and the batch (the GEN
    paper's "MSE ≈ 0.02" scale), ``sum`` = per-sample sum of squared errors averaged over the batch.
    ``beta`` = 0 with the default :meth:`penalty` is the plain autoencoder baseline.
    """

    stochastic_encoder = False

    def __init__(self, *args: Any, recon_reduction: Reduction = "mean", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if recon_reduction not in RECON_REDUCTIONS:
            raise ConfigError(
                f"model.recon_reduction must be one of {list(RECON_REDUCTIONS)}, got {recon_reduction!r}"
            )
        self.recon_reduction = recon_reduction

    def encode(self, x: Tensor) -> Tensor:
        """The code E(x)."""
        return self.encoder(x)

    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """A point mass at E(x): mean E(x) and the smallest log-variance the base class allows."""
        z = self.encode(x)
        return z, torch.full_like(z, -30.0)

    def recon_loss(self, x: Tensor, x_hat: Tensor) -> Tensor:
        """The reconstruction term with the configured reduction (a batch scalar)."""
        sse = squared_error(x, x_hat)
        return sse.mean() / (x[0].numel() if self.recon_reduction == "mean" else 1)

    def penalty(self, z: Tensor) -> Tensor:
        """The latent penalty for a batch of codes (a scalar); none by default."""
        return z.new_zeros(())

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """Batch reconstruction, penalty and their weighted sum."""
        z = self.encode(x)
        recon = self.recon_loss(x, self.decode(z))
        reg = self.penalty(z)
        return {"loss": recon + self.beta * reg, "recon": recon, "reg": reg}

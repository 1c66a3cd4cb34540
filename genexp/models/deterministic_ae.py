"""Autoencoders with a deterministic encoder z = E(x) and a latent penalty (GEN, AAE, plain AE),
and the novelty score of data near their decoder's manifold."""

from __future__ import annotations

from typing import Any, Literal, Optional, get_args

import torch
from torch import Tensor

from genexp.errors import ConfigError
from genexp.losses.likelihoods import squared_error
from genexp.metrics.manifold_density import manifold_log_density
from genexp.models.autoencoder import AutoencoderModule
from genexp.run_record import run_record

Reduction = Literal["mean", "sum"]
"""How a per-scalar loss is reduced over a sample's scalars."""
RECON_REDUCTIONS = get_args(Reduction)


class DeterministicAutoencoder(AutoencoderModule):
    """L = reconstruction + ``beta`` * penalty(z), z = E(x) (no sampling, no posterior variance).

    ``recon_reduction``: ``mean`` = squared error averaged over scalars and the batch (the GEN
    paper's "MSE ≈ 0.02" scale), ``sum`` = per-sample sum of squared errors averaged over the batch.
    ``beta`` = 0 with the default :meth:`penalty` is the plain autoencoder baseline.

    ``anomaly_score(x)`` is the GEN paper's novelty score (§5.5; spec gen.md §6.5), -log p(x) with
    log p(x) = log p_z(z') - ½ log|det JᵀJ| + log N(x; x', σ² I): z' = E(x), x' = D(z'), J the
    decoder Jacobian at z' (``torch.func``), p_z the ``prior`` (the target p_t) and σ² the mean
    per-scalar reconstruction MSE on the training split (inside a run: recomputed whenever the
    step count changed; outside one: set with :meth:`fit_novelty_variance`). The paper gives
    neither p_z nor σ²; these are the spec's choices.
    """

    stochastic_encoder = False

    def __init__(self, *args: Any, recon_reduction: Reduction = "mean", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if recon_reduction not in RECON_REDUCTIONS:
            raise ConfigError(
                f"model.recon_reduction must be one of {list(RECON_REDUCTIONS)}, got {recon_reduction!r}"
            )
        self.recon_reduction = recon_reduction
        self.novelty_variance: Optional[float] = None
        self._novelty_step: Optional[int] = None

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

    def label_term(self, z: Tensor, y: Tensor) -> Optional[Tensor]:
        """A supervised term (weight included) from the labels ``y`` of a batch (-1 = unlabelled),
        added to the loss; none by default."""
        return None

    def losses(self, x: Tensor, y: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Batch reconstruction, penalty and their weighted sum (plus :meth:`label_term` with ``y``)."""
        z = self.encode(x)
        recon = self.recon_loss(x, self.decode(z))
        reg = self.penalty(z)
        parts = {"loss": recon + self.beta * reg, "recon": recon, "reg": reg}
        label = self.label_term(z, y) if y is not None else None
        if label is not None:
            parts["label"] = label
            parts["loss"] = parts["loss"] + label
        return parts

    # -- novelty ----------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_novelty_variance(self, x: Tensor, batch_size: int = 1000) -> float:
        """Set σ² of the novelty score to the mean per-scalar reconstruction MSE of ``x`` (eval mode)."""
        was_training = self.training
        self.eval()
        sse = 0.0
        for xb in x.split(batch_size):
            xb = xb.to(self.device)
            sse += float(squared_error(xb, self.reconstruct(xb)).sum())
        self.train(was_training)
        self.novelty_variance = max(sse / x.numel(), 1e-12)
        return self.novelty_variance

    @torch.no_grad()
    def novelty_terms(self, x: Tensor) -> dict[str, Tensor]:
        """log p(x) and its three terms per row (see the class docstring), in eval mode."""
        in_run = self._trainer is not None and getattr(self.trainer, "datamodule", None) is not None
        if in_run and self._novelty_step != self.global_step:  # σ² of the weights as they are now
            var = self.fit_novelty_variance(self.trainer.datamodule.get_data("train")[0])
            self._novelty_step = self.global_step
            run_record(self.trainer).record(self.trainer, {"novelty_sigma2": var})
        elif self.novelty_variance is None:
            raise RuntimeError("call fit_novelty_variance(x_train) before scoring outside a run")
        was_training = self.training
        self.eval()
        try:
            z = self.encode(x)
            return manifold_log_density(x, z, self.decode, self.prior.log_prob, self.novelty_variance)
        finally:
            self.train(was_training)

    def anomaly_score(self, x: Tensor) -> Tensor:
        """-log p(x) per row (higher = more novel)."""
        return -self.novelty_terms(x)["log_px"]

"""Base class for autoencoding models with a diagonal-Gaussian posterior and a latent prior."""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.gaussian import reparameterize, split_gaussian
from genexp.losses.likelihoods import (
    Likelihood,
    bernoulli_nll,
    check_likelihood,
    gaussian_nll,
    squared_error,
)
from genexp.models.base import GenerativeModule
from genexp.priors import build_prior


class AutoencoderModule(GenerativeModule):
    """Encoder q(z|x) = N(mu, diag sigma^2), decoder p(x|z), prior p(z); trains L = NLL + beta * R.

    Subclasses define :meth:`regularizer` (R). ``likelihood`` is ``gaussian`` (fixed
    ``obs_std``; the default sqrt(1/2) makes the NLL the per-sample sum of squared errors up to a
    constant, the thesis' convention) or ``bernoulli`` (data rescaled to [0, 1], decoder logits).
    Subclasses with a deterministic encoder set ``stochastic_encoder = False`` (the encoder then
    outputs ``latent_dim`` values instead of mean and log-variance).
    """

    stochastic_encoder: bool = True

    def __init__(
        self,
        data_shape: Sequence[int],
        encoder: Callable[..., nn.Module],
        decoder: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        latent_dim: PositiveInt = 16,
        beta: NonNegativeFloat = 1.0,
        likelihood: Likelihood = "gaussian",
        obs_std: PositiveFloat = math.sqrt(0.5),
        prior: Any = None,
        value_range: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__(data_shape, value_range)
        if latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be >= 1, got {latent_dim}")
        if beta < 0 or not math.isfinite(beta):
            raise ConfigError(f"model.beta must be a finite number >= 0, got {beta}")
        if obs_std <= 0:
            raise ConfigError(f"model.obs_std must be > 0, got {obs_std}")
        self.likelihood = check_likelihood(likelihood, self.value_range)
        self.latent_dim = int(latent_dim)
        self.beta = float(beta)
        self.obs_std = float(obs_std)
        code_width = (2 if self.stochastic_encoder else 1) * self.latent_dim
        self.encoder = encoder(in_shape=self.data_shape, out_dim=code_width)
        self.decoder = decoder(
            in_dim=self.latent_dim,
            out_shape=self.data_shape,
            value_range=self.value_range,
            squash=self.likelihood == "gaussian",
        )
        self.prior = build_prior(prior, self.latent_dim)
        self.optimizer_factory = optimizer

    # -- capabilities used by metrics -------------------------------------------------------
    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (n, latent_dim)."""
        return split_gaussian(self.encoder(x))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean."""
        return self.encode_distribution(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's mean in data space."""
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            lo, hi = self.value_range
            return torch.sigmoid(out) * (hi - lo) + lo
        return out

    def reconstruct(self, x: Tensor) -> Tensor:
        """decode(encode(x)) at the posterior mean."""
        return self.decode(self.encode(x))

    def sample(self, n: int) -> Tensor:
        """Decode ``n`` prior draws."""
        return self.decode(self.prior.sample(n))

    # -- the objective ----------------------------------------------------------------------
    def nll(self, x: Tensor, decoder_out: Tensor) -> Tensor:
        """-log p(x|z) per sample."""
        if self.likelihood == "bernoulli":
            lo, hi = self.value_range
            return bernoulli_nll((x - lo) / (hi - lo), decoder_out)
        return gaussian_nll(x, decoder_out, self.obs_std)

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """R per sample (or a batch scalar); subclasses define it."""
        raise NotImplementedError

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """Batch means of the loss and its parts."""
        mu, logvar = self.encode_distribution(x)
        z = reparameterize(mu, logvar)
        out = self.decoder(z)
        nll = self.nll(x, out).mean()
        reg = self.regularizer(mu, logvar, z).mean()
        return {"loss": nll + self.beta * reg, "nll": nll, "reg": reg}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """One optimizer step on L."""
        parts = self.losses(batch[0])
        self.log_train_step({f"train/{k}": v for k, v in parts.items()})
        return parts["loss"]

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Validation loss (the checkpoint monitor ``val/loss``)."""
        parts = self.losses(batch[0])
        self.log_dict({f"val/{k}": v for k, v in parts.items()}, on_epoch=True, prog_bar=True, sync_dist=True)

    def test_values(self, x: Tensor) -> dict[str, Tensor]:
        """Test numbers for one batch: the loss, its parts, and the per-scalar reconstruction MSE."""
        values = {f"test/{k}": v for k, v in self.losses(x).items()}
        values["test/recon_mse"] = squared_error(x, self.reconstruct(x)).mean() / x[0].numel()
        return values

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Log :meth:`test_values` averaged over the test split."""
        self.log_dict(self.test_values(batch[0]), on_epoch=True, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """One optimizer over all trainable parameters (nets and a learnable prior)."""
        return self.optimizer_factory(params=[p for p in self.parameters() if p.requires_grad])

"""Adversarial autoencoder (Makhzani et al. 2016), the GEN paper's baseline: a deterministic
autoencoder whose codes are pushed toward the prior by a latent discriminator."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from genexp.losses.gan import GanLoss, check_gan_loss, discriminator_loss, generator_loss
from genexp.models.deterministic_ae import DeterministicAutoencoder


class AAE(DeterministicAutoencoder):
    """Per batch: one discriminator step (prior draws real, codes E(x) fake), then one autoencoder
    step on reconstruction + ``beta`` * the encoder's adversarial loss (``loss``: non_saturating |
    hinge, from :mod:`genexp.losses.gan`)."""

    def __init__(
        self,
        *args: Any,
        discriminator: Callable[..., nn.Module],
        d_optimizer: Callable[..., Any],
        loss: GanLoss = "non_saturating",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.automatic_optimization = False
        self.loss_name = check_gan_loss(loss)
        self.discriminator = discriminator(in_shape=(self.latent_dim,), out_dim=1)
        self.d_optimizer_factory = d_optimizer

    def penalty(self, z: Tensor) -> Tensor:
        """The encoder's adversarial loss on its codes."""
        return generator_loss(self.loss_name, self.discriminator(z).view(-1))

    def discriminator_loss(self, z: Tensor) -> Tensor:
        """D's loss: prior draws against (detached) codes."""
        real = self.discriminator(self.prior.sample(len(z)).detach()).view(-1)
        return discriminator_loss(self.loss_name, real, self.discriminator(z.detach()).view(-1))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """A D step, then an autoencoder step (D's gradients from the second step are discarded)."""
        opt_ae, opt_d = self.optimizers()
        x = batch[0]
        with torch.no_grad():
            z = self.encode(x)
        d_loss = self.discriminator_loss(z)
        self.optimizer_update(opt_d, d_loss)
        parts = self.losses(x)
        self.optimizer_update(opt_ae, parts["loss"])
        self.log_train_step(
            {"train/d_loss": d_loss.detach(), **{f"train/{k}": v.detach() for k, v in parts.items()}}
        )
        return parts["loss"].detach()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """The autoencoder's optimizer (encoder + decoder) and the discriminator's."""
        ae_params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return [
            self.optimizer_factory(params=ae_params),
            self.d_optimizer_factory(params=self.discriminator.parameters()),
        ]

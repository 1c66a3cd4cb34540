"""Base class for adversarial models: manual optimization with D steps per G step."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.gan import GanLoss, check_gan_loss, discriminator_loss, generator_loss, r1_penalty
from genexp.models.base import GenerativeModule
from genexp.priors import build_prior


class AdversarialModule(GenerativeModule):
    """Generator G(z), discriminator D(x), latent prior p(z).

    Step schedule (``automatic_optimization = False``): every training batch makes one D update;
    every ``d_steps``-th batch also makes one G update. Lightning counts every optimizer step in
    ``trainer.global_step``, so with ``d_steps=1`` one batch is two steps.

    Hooks for subclasses: :meth:`condition` (what G and D are conditioned on for a real batch;
    the G step reuses the last D step's condition), :meth:`generate` (G's samples) and
    :meth:`critic` (D's logits); :meth:`critic_loss` is D's loss (+ R1) for any critic, and
    :meth:`discriminator_step` / :meth:`generator_step` may be extended for extra terms.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        generator: Callable[..., nn.Module],
        discriminator: Callable[..., nn.Module],
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        latent_dim: PositiveInt = 64,
        loss: GanLoss = "non_saturating",
        d_steps: PositiveInt = 1,
        r1_gamma: NonNegativeFloat = 0.0,
        prior: Any = None,
        value_range: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__(data_shape, value_range)
        if d_steps < 1:
            raise ConfigError(f"model.d_steps must be >= 1, got {d_steps}")
        if r1_gamma < 0:
            raise ConfigError(f"model.r1_gamma must be >= 0, got {r1_gamma}")
        if latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be >= 1, got {latent_dim}")
        self.automatic_optimization = False
        self.loss_name = check_gan_loss(loss)
        self.d_steps = int(d_steps)
        self.r1_gamma = float(r1_gamma)
        self.latent_dim = int(latent_dim)
        self.generator = generator(
            in_dim=self.latent_dim, out_shape=self.data_shape, value_range=self.value_range
        )
        self.discriminator = discriminator(in_shape=self.data_shape, out_dim=1)
        self.prior = build_prior(prior, self.latent_dim)
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer

    def condition(self, real: Tensor) -> Optional[Tensor]:
        """The conditioning of G and D for a real batch (None: unconditional)."""
        return None

    def generate(self, n: int, cond: Optional[Tensor] = None) -> Tensor:
        """``n`` generator samples under ``cond``."""
        return self.generator(self.prior.sample(n))

    def critic(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """D's logits for ``x`` under ``cond``, flattened to ``(n,)``."""
        return self.discriminator(x).view(-1)

    def sample(self, n: int) -> Tensor:
        """G applied to ``n`` prior draws."""
        return self.generate(n)

    def critic_loss(
        self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> dict[str, Tensor]:
        """A critic's loss on a real and a fake batch, plus R1 at the real batch if ``r1_gamma > 0``
        (only where gradients are on: validation and test report the plain loss)."""
        with_r1 = self.r1_gamma > 0 and torch.is_grad_enabled()
        real_in = real.requires_grad_(True) if with_r1 else real
        real_logits = critic(real_in)
        loss = discriminator_loss(self.loss_name, real_logits, critic(fake))
        out = {"d_loss": loss}
        if with_r1:
            r1 = r1_penalty(real_logits, real_in)
            loss = loss + 0.5 * self.r1_gamma * r1
            out["r1"] = r1
        out["loss"] = loss
        return out

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        """D's loss on a real batch and as many generated samples (under the batch's condition)."""
        cond = self._cond = self.condition(real)
        with torch.no_grad():
            fake = self.generate(real.shape[0], cond)
        return self.critic_loss(lambda x: self.critic(x, cond), real, fake)

    def generator_step(self, batch_size: int) -> dict[str, Tensor]:
        """G's loss on a batch of its samples (under the last D step's condition)."""
        cond = getattr(self, "_cond", None)
        loss = generator_loss(self.loss_name, self.critic(self.generate(batch_size, cond), cond))
        return {"g_loss": loss, "loss": loss}

    def _update(self, optimizer: Any, loss: Tensor) -> None:
        """Zero the grads of one optimizer (or a list), backpropagate ``loss``, step them all."""
        self.optimizer_update(optimizer, loss)

    def after_generator_update(self, real: Tensor) -> dict[str, Tensor]:
        """Extra updates right after each G update (e.g. an encoder's); returns values to log."""
        return {}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        """One D update, and one G update every ``d_steps`` batches."""
        opts = self.optimizers()
        opt_g, opt_d = opts[0], opts[1]  # subclasses may add optimizers after these two
        real = batch[0]
        d_out = self.discriminator_step(real)
        self._update(opt_d, d_out["loss"])
        logs = {f"train/{k}": v.detach() for k, v in d_out.items() if k != "loss"}
        loss = d_out["loss"].detach()
        if (batch_idx + 1) % self.d_steps == 0:
            g_out = self.generator_step(real.shape[0])
            self._update(opt_g, g_out["loss"])
            logs.update({f"train/{k}": v.detach() for k, v in g_out.items() if k != "loss"})
            loss = loss + g_out["loss"].detach()
            logs.update(self.after_generator_update(real))
        self.log_train_step(logs)
        return {"loss": loss}

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """D's loss on held-out real data against fresh samples (``val/d_loss``)."""
        self.log("val/d_loss", self.discriminator_step(batch[0])["d_loss"], on_epoch=True, sync_dist=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """D's loss on the test split against fresh samples (``test/d_loss``)."""
        self.log("test/d_loss", self.discriminator_step(batch[0])["d_loss"], on_epoch=True, sync_dist=True)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[G optimizer (with a learnable prior's parameters), D optimizer]."""
        g_params = [
            p for p in list(self.generator.parameters()) + list(self.prior.parameters()) if p.requires_grad
        ]
        return [
            self.g_optimizer_factory(params=g_params),
            self.d_optimizer_factory(params=self.discriminator.parameters()),
        ]

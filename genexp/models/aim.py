"""AIM (Li et al. 2019; thesis §A.5/§8.2.2): a GAN plus an encoder trained by maximum likelihood on
generated pairs; also the base of MPCC and AIM-MPCC."""

from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, NonNegativeInt, PositiveInt, UnitInterval
from genexp.errors import ConfigError
from genexp.losses.clustering import encoder_nll_per_dim
from genexp.losses.gan import GanLoss, discriminator_loss
from genexp.losses.gaussian import split_gaussian
from genexp.models.adversarial import AdversarialModule
from genexp.models.components.ema import ema_update, standing_batchnorm_stats

STANDING_STATS_SEED = 12345


class AIM(AdversarialModule):
    """Generator G, discriminator D, encoder q(z|x) = N(mu(x), diag sigma^2(x)), prior p(z).

    Step schedule (manual optimization; one *iteration* = ``d_steps`` training batches), thesis
    Algorithm 1: ``d_steps`` D updates (one per real batch, fresh prior samples each), one G update
    (hinge loss by default), then ``e_steps`` encoder updates, each on fresh pairs (z ~ p(z),
    x = G(z) with G frozen), minimising the Gaussian NLL of z under q(z|x) divided by dim(x).
    Every optimizer step counts in ``trainer.global_step``; ``max_iterations`` stops a run after
    that many iterations (use it instead of ``trainer.max_steps``).

    ``share_encoder``: the encoder reuses the discriminator's trunk (its first blocks; nets from
    :mod:`genexp.nets.shared_trunk`); the encoder optimizer then also updates those shared weights.
    ``ema_decay > 0`` keeps an EMA copy of G (plain copy for the first ``ema_start`` iterations);
    ``standing_stats > 0`` recomputes the evaluation generator's BatchNorm statistics over that many
    batches before it is used. ``sample``/``reconstruct`` in eval mode use that evaluation
    generator (EMA if on, else G); in training mode they use G.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        generator: Callable[..., nn.Module],
        discriminator: Callable[..., nn.Module],
        encoder: Callable[..., nn.Module],
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        e_optimizer: Callable[..., torch.optim.Optimizer],
        latent_dim: PositiveInt = 64,
        loss: GanLoss = "hinge",
        d_steps: PositiveInt = 1,
        e_steps: PositiveInt = 1,
        share_encoder: bool = False,
        ema_decay: UnitInterval = 0.0,
        ema_start: NonNegativeInt = 1000,
        standing_stats: NonNegativeInt = 0,
        standing_batch_size: PositiveInt = 50,
        max_iterations: Optional[PositiveInt] = None,
        r1_gamma: NonNegativeFloat = 0.0,
        prior: Any = None,
        value_range: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__(
            data_shape,
            generator,
            discriminator,
            g_optimizer,
            d_optimizer,
            latent_dim,
            loss,
            d_steps,
            r1_gamma,
            prior,
            value_range,
        )
        if e_steps < 1:
            raise ConfigError(f"model.e_steps must be >= 1, got {e_steps}")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"model.ema_decay must be in [0, 1), got {ema_decay} (0 turns the EMA off)")
        self.e_steps = int(e_steps)
        self.share_encoder = bool(share_encoder)
        if self.share_encoder:
            trunk = getattr(self.discriminator, "trunk", None)
            if trunk is None:
                raise ConfigError(
                    "model.share_encoder=true needs a discriminator with a trunk (e.g. "
                    "genexp.nets.shared_trunk.mlp_critic / resnet_critic); or set share_encoder=false"
                )
            self.encoder = encoder(in_shape=self.data_shape, out_dim=2 * self.latent_dim, shared_trunk=trunk)
        else:
            self.encoder = encoder(in_shape=self.data_shape, out_dim=2 * self.latent_dim)
        self.e_optimizer_factory = e_optimizer
        self.ema_decay, self.ema_start = float(ema_decay), int(ema_start)
        self.generator_ema = (
            copy.deepcopy(self.generator).requires_grad_(False) if self.ema_decay > 0 else None
        )
        self.standing_stats, self.standing_batch_size = int(standing_stats), int(standing_batch_size)
        self.max_iterations = int(max_iterations) if max_iterations else None
        self.iteration = 0
        self._eval_stale = True
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules())
        self.concat_critic = not has_bn and self.r1_gamma == 0

    # -- latents and generation -------------------------------------------------------------------
    def draw_latents(self, n: int) -> tuple[Tensor, Optional[Tensor]]:
        """``n`` prior draws z and their components y (None for a one-component prior)."""
        return self.prior.sample(n), None

    @staticmethod
    def decode_latents(gen: nn.Module, z: Tensor, y: Optional[Tensor]) -> Tensor:
        """G(z) or G(z, y)."""
        return gen(z) if y is None else gen(z, y)

    def generate(self, n: int, cond: Optional[Tensor] = None) -> Tensor:
        """``n`` training-time samples of the live generator (gradients flow into G and the prior)."""
        z, y = self.draw_latents(n)
        return self.decode_latents(self.generator, z, y)

    def evaluation_generator(self) -> nn.Module:
        """The EMA generator (or G), with standing BatchNorm statistics refreshed if stale."""
        gen = self.generator_ema if self.generator_ema is not None else self.generator
        if self._eval_stale:
            if self.standing_stats > 0:
                devices = [self.device] if self.device.type == "cuda" else []
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(STANDING_STATS_SEED)
                    standing_batchnorm_stats(
                        gen,
                        lambda: self.decode_latents(gen, *self.draw_latents(self.standing_batch_size)),
                        self.standing_stats,
                    )
            self._eval_stale = False
        return gen

    def sample(self, n: int) -> Tensor:
        """``n`` samples: the evaluation generator in eval mode, the live G in training mode."""
        if self.training:
            return self.generate(n)
        z, y = self.draw_latents(n)
        return self.decode_latents(self.evaluation_generator(), z, y)

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        """D's loss on a real batch and as many samples; real and fake go through D in one forward
        (as BigGAN's G_D does) when D has no BatchNorm and there is no R1 penalty."""
        if not self.concat_critic:
            return super().discriminator_step(real)
        with torch.no_grad():
            fake = self.generate(real.shape[0])
        real_logits, fake_logits = self.critic(torch.cat([real, fake])).split([real.shape[0], fake.shape[0]])
        loss = discriminator_loss(self.loss_name, real_logits, fake_logits)
        return {"d_loss": loss, "loss": loss}

    # -- inference capabilities -------------------------------------------------------------------
    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (n, latent_dim)."""
        return split_gaussian(self.encoder(x))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean."""
        return self.encode_distribution(x)[0]

    def infer_component(self, z: Tensor) -> Optional[Tensor]:
        """The prior component a code belongs to (None: a one-component prior)."""
        return None

    def decode(self, z: Tensor) -> Tensor:
        """G(z) (with the inferred component for a mixture prior); the evaluation generator in eval
        mode (the latent diagnostics' LL in Z use it)."""
        gen = self.generator if self.training else self.evaluation_generator()
        return self.decode_latents(gen, z, self.infer_component(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(mu(x)) (with the inferred component for a mixture prior)."""
        return self.decode(self.encode(x))

    # -- the encoder step -------------------------------------------------------------------------
    def encoder_losses(self, z: Tensor, y: Optional[Tensor], first: bool) -> dict[str, Tensor]:
        """Encoder NLL / dim(x) on x = G(z, y) (G frozen); ``loss`` is what the step minimises."""
        with torch.no_grad():
            x = self.decode_latents(self.generator, z.detach(), y)
        mu, logvar = self.encode_distribution(x)
        nll = encoder_nll_per_dim(z, mu, logvar, self.data_dim)
        return {"e_nll": nll, "loss": nll}

    def encoder_optimizers(self, optimizers: list[Any], first: bool) -> list[Any]:
        """The optimizers one encoder step updates (the encoder's)."""
        return [optimizers[2]]

    def after_generator_update(self, real: Tensor) -> dict[str, Tensor]:
        """EMA update, ``e_steps`` encoder updates, iteration count."""
        self.iteration += 1
        if self.generator_ema is not None:
            ema_update(
                self.generator_ema,
                self.generator,
                0.0 if self.iteration <= self.ema_start else self.ema_decay,
            )
        self._eval_stale = True
        optimizers = self.optimizers()
        logs: dict[str, Tensor] = {}
        for step in range(self.e_steps):
            first = step == 0
            z, y = self.draw_latents(real.shape[0])
            out = self.encoder_losses(z, y, first)
            self._update(self.encoder_optimizers(optimizers, first), out["loss"])
            if first:
                logs.update({f"train/{k}": v.detach() for k, v in out.items() if k != "loss"})
        return logs

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> Optional[int]:
        """Stop once ``max_iterations`` iterations are done (also right after resuming such a run)."""
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True
            return -1
        return None

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[G (+ prior), D, encoder] optimizers."""
        return [
            self.g_optimizer_factory(params=self.generator_param_groups()),
            self.d_optimizer_factory(params=self.discriminator.parameters()),
            self.e_optimizer_factory(params=self.encoder.parameters()),
        ]

    def generator_param_groups(self) -> list[Any]:
        """What the G optimizer updates: G and a learnable prior's parameters."""
        return [
            p for p in list(self.generator.parameters()) + list(self.prior.parameters()) if p.requires_grad
        ]

    # -- evaluation and checkpoints ---------------------------------------------------------------
    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """D's loss, and on fresh pairs the encoder NLL / dim(x) and the latent MSE |z - mu(G(z))|^2 / J."""
        super().test_step(batch, batch_idx)
        z, y = self.draw_latents(batch[0].shape[0])
        mu, logvar = self.encode_distribution(self.decode_latents(self.evaluation_generator(), z, y))
        self.log_dict(
            {
                "test/e_nll": encoder_nll_per_dim(z, mu, logvar, self.data_dim),
                "test/latent_mse": (z - mu).pow(2).mean(),
            },
            on_epoch=True,
            sync_dist=True,
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the iteration count (EMA copy and prior are in the state_dict)."""
        checkpoint.setdefault("genexp_model", {})["iteration"] = self.iteration

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the iteration count."""
        self.iteration = int(checkpoint.get("genexp_model", {}).get("iteration", 0))
        self._eval_stale = True

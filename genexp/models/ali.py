"""ALI / BiGAN (Dumoulin et al. 2017, Donahue et al. 2017; thesis §4.1, spec §A.6): a generator
G(z) and an encoder q(z|x) trained together against one discriminator on (x, z) pairs. The base of
ALICE and Veegan, which add likelihood terms (:meth:`ALI.likelihood_terms`)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.constraints import PositiveInt
from genexp.losses.clustering import encoder_nll_per_dim
from genexp.losses.gan import GanLoss, discriminator_loss, generator_loss
from genexp.losses.gaussian import reparameterize, split_gaussian
from genexp.losses.likelihoods import squared_error
from genexp.models.adversarial import AdversarialModule


class ALI(AdversarialModule):
    """G(z), q(z|x) = N(mu(x), diag sigma^2(x)), prior p(z), joint critic D(x, z) (spec §C2).

    The discriminator tells inference pairs (x, z~ ~ q(z|x)) from generative pairs (G(z), z),
    z ~ p(z), with the vanilla GAN loss (thesis eq. 4.1: D maximises E_q log sigmoid D + E_p
    log(1 - sigmoid D)); ``loss=hinge`` swaps in the hinge loss. G and the encoder minimise the
    label-swapped loss (``non_saturating``: -log sigmoid D(G(z), z) - log(1 - sigmoid D(x, z~)),
    the usual non-saturating form of the thesis' h; ``hinge``: -D(G(z), z) + D(x, z~)) plus the
    weighted :meth:`likelihood_terms` (none for ALI). z~ is the reparameterised draw, so the
    encoder's mean and variance both get gradients.

    Step schedule (``automatic_optimization = False``): every batch one D update on fresh pairs
    (G and the encoder without gradients); every ``d_steps``-th batch one joint update of G, the
    encoder and a learnable prior (one optimizer, ``g_optimizer``) on the last D step's real batch
    with fresh z and noise. ``discriminator`` builds D_x, ``joint_critic`` the pair critic around
    it (:class:`genexp.nets.joint_critic.JointCritic`).
    """

    lambda_x: float = 0.0  # weight of the likelihood term in X (ALICE)
    lambda_z: float = 0.0  # weight of the likelihood term in Z (ALICE, Veegan)

    def __init__(
        self,
        data_shape: Sequence[int],
        generator: Callable[..., nn.Module],
        discriminator: Callable[..., nn.Module],
        encoder: Callable[..., nn.Module],
        joint_critic: Callable[..., nn.Module],
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        latent_dim: PositiveInt = 64,
        loss: GanLoss = "non_saturating",
        d_steps: PositiveInt = 1,
        prior: Any = None,
        value_range: Optional[Sequence[float]] = None,
    ) -> None:
        pair_critic = functools.partial(joint_critic, x_net=discriminator, latent_dim=latent_dim)
        super().__init__(
            data_shape,
            generator,
            pair_critic,
            g_optimizer,
            d_optimizer,
            latent_dim,
            loss,
            d_steps,
            0.0,
            prior,
            value_range,
        )
        self.encoder = encoder(in_shape=self.data_shape, out_dim=2 * self.latent_dim)
        self._real: Optional[Tensor] = None

    # -- capabilities used by metrics -------------------------------------------------------------
    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (n, latent_dim)."""
        return split_gaussian(self.encoder(x))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean."""
        return self.encode_distribution(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """G(z)."""
        return self.generator(z)

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(mu(x))."""
        return self.generator(self.encode(x))

    # -- the objective ----------------------------------------------------------------------------
    def pair_logits(self, x: Tensor, z: Tensor) -> Tensor:
        """D's logits for the pairs (x_i, z_i), shape (n,)."""
        return self.discriminator(x, z).view(-1)

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        """D's loss: (real, z~ ~ q(z|real)) as real pairs, (G(z), z) as fake ones; keeps ``real``
        for the next G/encoder step."""
        self._real = real
        with torch.no_grad():
            z_tilde = reparameterize(*self.encode_distribution(real))
            z = self.prior.sample(real.shape[0])
            x_tilde = self.generator(z)
        loss = discriminator_loss(
            self.loss_name, self.pair_logits(real, z_tilde), self.pair_logits(x_tilde, z)
        )
        return {"d_loss": loss, "loss": loss}

    def likelihood_terms(self, x: Tensor, z_tilde: Tensor, z: Tensor, x_tilde: Tensor) -> dict[str, Tensor]:
        """The likelihood terms of the G/encoder step (before weighting), for the non-zero weights:
        ``x_rec`` (``lambda_x``) = the squared error of x and G(z~) per scalar (a Gaussian NLL in X
        up to scale and constant); ``z_nll`` (``lambda_z``) = -log q(z | G(z)) per latent dimension.
        Gradients reach G and the encoder through both."""
        terms: dict[str, Tensor] = {}
        if self.lambda_x > 0:
            terms["x_rec"] = squared_error(x, self.generator(z_tilde)).mean() / self.data_dim
        if self.lambda_z > 0:
            mu, logvar = self.encode_distribution(x_tilde)
            terms["z_nll"] = encoder_nll_per_dim(z, mu, logvar, self.latent_dim)
        return terms

    def generator_step(self, batch_size: int) -> dict[str, Tensor]:
        """G's and the encoder's loss on the last D step's real batch and ``batch_size`` fresh z."""
        real, self._real = self._real, None
        z_tilde = reparameterize(*self.encode_distribution(real))
        z = self.prior.sample(batch_size)
        x_tilde = self.generator(z)
        adv = generator_loss(self.loss_name, self.pair_logits(x_tilde, z)) + generator_loss(
            self.loss_name, -self.pair_logits(real, z_tilde)
        )
        out = {"g_loss": adv}
        loss = adv
        weights = {"x_rec": self.lambda_x, "z_nll": self.lambda_z}
        for name, value in self.likelihood_terms(real, z_tilde, z, x_tilde).items():
            out[name] = value
            loss = loss + weights[name] * value
        out["loss"] = loss
        return out

    # -- evaluation and optimisers ----------------------------------------------------------------
    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """D's loss, the reconstruction MSE per scalar |x - G(mu(x))|^2 / dim(x) and, on fresh
        z ~ p(z), the latent MSE |z - mu(G(z))|^2 / J."""
        super().test_step(batch, batch_idx)
        x = batch[0]
        z = self.prior.sample(x.shape[0])
        self.log_dict(
            {
                "test/recon_mse": squared_error(x, self.reconstruct(x)).mean() / self.data_dim,
                "test/latent_mse": (z - self.encode(self.generator(z))).pow(2).mean(),
            },
            on_epoch=True,
            sync_dist=True,
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[G + encoder (+ a learnable prior), D]."""
        params = list(self.generator.parameters()) + list(self.encoder.parameters())
        params += list(self.prior.parameters())
        return [
            self.g_optimizer_factory(params=[p for p in params if p.requires_grad]),
            self.d_optimizer_factory(params=self.discriminator.parameters()),
        ]

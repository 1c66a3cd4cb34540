"""SC-GAN (Drozdova et al.): a stochastic contrastive GAN for data on disconnected manifolds.

Stages (one ``python -m genexp model=scgan ...`` call; bookkeeping in
:mod:`genexp.models.components.staging`):

1. ``encoder`` (``on_fit_start``): the MLP encoder E is trained with NT-Xent between two noisy
   views of the training points, then k-means on E(x_train) gives ``num_clusters`` clusters and
   every latent statistic (:class:`~genexp.models.components.cluster_latents.ClusterLatents`). Saved with
   them to ``<run>/stages/encoder.pt``; ``model.stages.encoder=<such a file>`` loads it instead.
2. ``mappers`` (only for ``latent_model: mapping``): one adversarial autoencoder per cluster whose
   decoder M_i maps omega ~ N(0, I) to that cluster's latents. ``stages/mappers.pt`` /
   ``model.stages.mappers``.
3. the stochastic generator G(eps, z_1..z_L) (EigenGAN-style MLP, Lightning's loop with the
   :class:`AdversarialModule` schedule), E and the latent model frozen. Each batch: D_gen on
   (x, G(eps~, z)) with eps~ from the latent model and random z, D_rec on (x, G(E(x), 0)); then
   L_G = rec_weight * MSE(x, G(E(x), 0)) + adv(D_rec) + gen_weight * adv(D_gen)
   + orth_weight * orthogonality penalty.

``latent_model`` picks the generative-mode latents (the paper's Table 1 columns): ``gaussian`` (a),
``centers`` (b), ``mapping`` (c, SC-GAN), ``data`` (d); see :mod:`genexp.models.components.cluster_latents`.
Capabilities: ``sample``, ``reconstruct`` (fixed zero noise), ``encode`` (E), ``cluster``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.gan import generator_loss
from genexp.models.adversarial import AdversarialModule
from genexp.models.components.cluster_latents import LATENT_SETTINGS, ClusterLatents, LatentSetting
from genexp.models.components.staging import Stage, StagedModel, freeze, train_tensor


class SCGAN(StagedModel, AdversarialModule):
    """Stage-3 module of SC-GAN with its frozen stages (see the module docstring).

    ``encoder``: factory ``(in_shape) -> module`` with ``forward`` and ``fit(x, seed)``
    (:class:`~genexp.models.components.contrastive_encoder.ContrastiveEncoder`); ``mappers``: factory
    ``(latent_dim, num_clusters) -> MappingNetworks``; ``generator``: an
    :class:`~genexp.nets.scgan_eigen.EigenMLP` factory; ``discriminator``: the factory of both D_gen
    and D_rec. ``latent_dim`` is the encoder's latent size d_eps.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        generator: Callable[..., nn.Module],
        discriminator: Callable[..., nn.Module],
        encoder: Callable[..., nn.Module],
        mappers: Callable[..., nn.Module],
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        num_clusters: PositiveInt = 8,
        latent_model: LatentSetting = "mapping",
        rec_weight: NonNegativeFloat = 1.0,
        gen_weight: NonNegativeFloat = 1.0,
        orth_weight: NonNegativeFloat = 100.0,
        stages: Optional[dict[str, Optional[str]]] = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if latent_model not in LATENT_SETTINGS:
            raise ConfigError(
                f"model.latent_model={latent_model!r} is unknown; choose one of {list(LATENT_SETTINGS)}"
            )
        if num_clusters < 1:
            raise ConfigError(f"model.num_clusters must be >= 1, got {num_clusters}")
        if min(rec_weight, gen_weight, orth_weight) < 0:
            raise ConfigError("model.rec_weight, gen_weight and orth_weight must be >= 0")
        super().__init__(data_shape, generator, discriminator, g_optimizer, d_optimizer, **kwargs)
        self.latent_model = latent_model
        self.rec_weight, self.gen_weight, self.orth_weight = (
            float(rec_weight),
            float(gen_weight),
            float(orth_weight),
        )
        self.seed = int(seed)
        self.rec_discriminator = discriminator(in_shape=self.data_shape, out_dim=1)
        self.encoder = freeze(encoder(in_shape=self.data_shape, latent_dim=self.latent_dim))
        self.latents = ClusterLatents(self.latent_dim, num_clusters)
        self.mappers = freeze(mappers(latent_dim=self.latent_dim, num_clusters=num_clusters))
        self.init_stages(["encoder", "mappers"], stages)

    # -- stages 1 and 2 --------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Train (or load) the encoder, clusters and mapping networks unless already done."""
        if not self.stage_done("encoder"):
            self.prepare_stages(train_tensor(self.trainer))

    def prepare_stages(self, x: Tensor) -> dict[str, Any]:
        """Stages 1 and 2 on training inputs ``x`` (see the module docstring)."""
        x = x.to(self.device)

        def train_encoder() -> dict[str, Any]:
            info = self.encoder.fit(x, seed=self.seed)
            with torch.no_grad():
                info.update(self.latents.fit(self.encode_batched(x), seed=self.seed))
            return info

        def train_mappers() -> dict[str, Any]:
            eps = self.latents.bank
            return self.mappers.fit(eps, self.latents.assign(eps), seed=self.seed)

        stages = [Stage("encoder", train_encoder, {"encoder": self.encoder, "latents": self.latents})]
        if self.latent_model == "mapping":
            stages.append(Stage("mappers", train_mappers, {"mappers": self.mappers}))
        return self.run_stages(stages)

    def train(self, mode: bool = True) -> "SCGAN":
        """Switch modes; the frozen stages always stay in eval mode."""
        super().train(mode)
        self.encoder.eval()
        self.mappers.eval()
        return self

    # -- capabilities ----------------------------------------------------------------------------
    @torch.no_grad()
    def encode_batched(self, x: Tensor, batch_size: int = 10_000) -> Tensor:
        """E(x) in batches."""
        return torch.cat([self.encoder(b) for b in x.split(batch_size)])

    def encode(self, x: Tensor) -> Tensor:
        """The encoder's unit-norm latent eps = E(x)."""
        return self.encoder(x)

    def cluster(self, x: Tensor) -> Tensor:
        """The k-means cluster of E(x)."""
        return self.latents.assign(self.encoder(x))

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(E(x), z = 0): reconstruction mode."""
        return self.generator(self.encoder(x), self.generator.zero_noise(x.shape[0], x.device))

    def sample_latents(self, n: int) -> Tensor:
        """Generative-mode latents from the configured latent model."""
        return self.latents.sample(n, self.latent_model, self.mappers)

    def generate(self, n: int, cond: Optional[Tensor] = None) -> Tensor:
        """G(eps~, z) with eps~ from the latent model and random per-layer noise z."""
        return self.generator(self.sample_latents(n))

    # -- stage 3 ---------------------------------------------------------------------------------
    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        """D_gen on generated samples (the base step) plus D_rec on reconstructions, each with
        its own R1 at the real batch when ``r1_gamma > 0`` (spec §2.3)."""
        self._real = real
        out = super().discriminator_step(real)
        with torch.no_grad():
            recon = self.reconstruct(real)
        rec = self.critic_loss(lambda x: self.rec_discriminator(x).view(-1), real, recon)
        out.update({"d_rec_loss": rec["d_loss"], "loss": out["loss"] + rec["loss"]})
        if "r1" in rec:  # R1 of D_rec (the base step's ``r1`` is D_gen's)
            out["r1_rec"] = rec["r1"]
        return out

    def generator_step(self, batch_size: int) -> dict[str, Tensor]:
        """MSE + adversarial terms of both modes + orthogonality penalty (see the module docstring)."""
        real = self._real
        recon = self.reconstruct(real)
        mse = F.mse_loss(recon, real)
        adv_rec = generator_loss(self.loss_name, self.rec_discriminator(recon).view(-1))
        adv_gen = generator_loss(self.loss_name, self.critic(self.generate(batch_size)))
        orth = self.generator.orthogonality_penalty()
        loss = self.rec_weight * mse + adv_rec + self.gen_weight * adv_gen + self.orth_weight * orth
        return {"g_loss": adv_gen, "g_rec_loss": adv_rec, "mse": mse, "orth": orth, "loss": loss}

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[G optimizer, one optimizer over D_gen and D_rec]."""
        d_params = [*self.discriminator.parameters(), *self.rec_discriminator.parameters()]
        return [
            self.g_optimizer_factory(params=list(self.generator.parameters())),
            self.d_optimizer_factory(params=d_params),
        ]

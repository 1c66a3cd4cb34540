"""The light-curve autoencoder that LC-VaDE and its baselines (thesis ch. 9, spec §L) are built on:
the packed-curve input, the amortised-GP decoding and the Gaussian cross-entropy reconstruction."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.constraints import NonNegativeInt
from genexp.data.lightcurve_packing import unpack
from genexp.errors import ConfigError
from genexp.losses.gaussian import reparameterize
from genexp.losses.likelihoods import gaussian_cross_entropy
from genexp.models.autoencoder import AutoencoderModule
from genexp.models.components.staging import Stage, StagedModel, fit_loss


class LCAutoencoder(StagedModel, AutoencoderModule):
    """The light-curve autoencoder shared by LC-VaDE and its baselines.

    Input: packed curves (see :mod:`genexp.data.lightcurve_packing`). The decoder is an
    :class:`~genexp.nets.lc_gp_decoder.AmortisedGPDecoder`; the reconstruction term is the Gaussian
    cross-entropy between the observations N(mag, err^2) and the prediction N(mu^, s^^2) at the
    observed phases, summed over observed points. Subclasses define :meth:`latent_terms` (the
    per-sample terms added to it) and :meth:`anomaly_score`. ``supervised_weight`` scales the
    label cross-entropy (LC-VaDES). ``num_classes`` = inlier classes K;
    training labels >= K (none in the protocol's train split) are ignored by supervision.
    The per-point reconstruction cross-entropy of every training epoch (the pretraining's first)
    is kept in ``recon_history``.

    Stage ``pretrain`` (:mod:`genexp.models.components.staging`; ``model.stages.pretrain=<file>``
    reuses another run's): ``pretrain_epochs`` epochs of the plain autoencoder (decoder at the
    posterior mean, loss = the reconstruction cross-entropy, as VaDE's pretraining) before the
    model's own training, so that every light-curve model gets the same start. Subclasses add
    stages in :meth:`fit_stages` (and their names to ``stage_list``).
    """

    stage_list: tuple[str, ...] = ("pretrain",)

    def __init__(
        self,
        data_shape: Sequence[int],
        encoder: Callable[..., nn.Module],
        decoder: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        num_classes: int,
        latent_dim: int = 8,
        prior: Any = None,
        supervised_weight: float = 1.0,
        value_range: Optional[Sequence[float]] = None,
        seed: int = 0,
        pretrain_epochs: NonNegativeInt = 0,
        stages: Optional[dict[str, Optional[str]]] = None,
    ) -> None:
        if num_classes < 1:
            raise ConfigError(f"model.num_classes (inlier classes) must be >= 1, got {num_classes}")
        if pretrain_epochs < 0:
            raise ConfigError(f"model.pretrain_epochs must be >= 0, got {pretrain_epochs}")
        super().__init__(
            data_shape,
            encoder,
            decoder,
            optimizer,
            latent_dim=latent_dim,
            prior=prior,
            value_range=value_range,
        )
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.supervised_weight = float(supervised_weight)
        self.recon_history: list[float] = []
        self._epoch_sums: list[Any] = [0.0, 0.0]  # device tensors within an epoch (no per-step sync)
        self.pretrain_epochs = int(pretrain_epochs)
        self.init_stages(self.stage_list, stages)

    # -- stages -----------------------------------------------------------------------------
    def fit_stages(self) -> list[Stage]:
        """The stages run (or loaded) before training, in order."""
        nets = {"encoder": self.encoder, "decoder": self.decoder}
        return [Stage("pretrain", self.pretrain, nets, freeze=False)]

    def on_fit_start(self) -> None:
        """Run :meth:`fit_stages` (each skipped when done: resumed run, or loaded)."""
        self.run_stages(self.fit_stages())

    def pretrain(self) -> dict[str, Any]:
        """Stage ``pretrain``: the autoencoder loop on the training split; returns its first/last
        epoch losses and step count."""
        x, _ = self.trainer.datamodule.get_data("train")
        params = [p for m in (self.encoder, self.decoder) for p in m.parameters()]
        batch_size = int(getattr(self.trainer.datamodule, "batch_size", 128))

        per_epoch, steps = max(1, -(-len(x) // batch_size)), [0]

        def loss(xb: Tensor) -> Tensor:
            nll = self.recon_nll(xb, self.encode(xb))
            self.add_to_epoch(nll, xb)
            steps[0] += 1
            if steps[0] % per_epoch == 0:
                self.end_epoch()
            return nll.mean()

        optimizer = self.optimizer_factory(params=params)
        return fit_loss(loss, optimizer, x, batch_size, self.pretrain_epochs, self.device)

    # -- decoding ---------------------------------------------------------------------------
    def decode_at(self, z: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Predicted magnitude mean and std (n, T) at phases ``t``."""
        return self.decoder.predict(z, t)

    def reconstruct(self, x: Tensor) -> Tensor:
        """``x`` with magnitudes and errors replaced by the prediction at the posterior mean."""
        b = unpack(x)
        mean, std = self.decode_at(self.encode(x), b.t)
        out = x.clone()
        out[:, 1], out[:, 2] = mean * b.mask, std * b.mask
        return out

    def decode(self, z: Tensor) -> Tensor:
        """Packed curves (features zero) with the prediction on a regular grid of phases."""
        n, length = len(z), self.data_shape[-1]
        t = ((torch.arange(length, device=z.device) + 0.5) / length).expand(n, -1)
        mean, std = self.decode_at(z, t)
        out = torch.zeros(n, *self.data_shape, device=z.device)
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = t, mean, std, 1.0
        return out

    def sample(self, n: int) -> Tensor:
        """:meth:`decode` of ``n`` prior draws."""
        return self.decode(self.prior.sample(n))

    # -- the objective ----------------------------------------------------------------------
    def recon_nll(self, x: Tensor, z: Tensor) -> Tensor:
        """-E log p(x|z,t) per curve (Gaussian cross-entropy summed over observed points)."""
        b = unpack(x)
        mean, std = self.decode_at(z, b.t)
        return gaussian_cross_entropy(b.mag, b.err, mean, std, b.mask)

    def supervision(self, logits: Tensor, y: Optional[Tensor]) -> Tensor:
        """``supervised_weight`` * cross-entropy of inlier labels (rows with y in [0, K)); zero
        without labels."""
        if y is None or self.supervised_weight == 0:
            return logits.new_zeros(())
        keep = (y >= 0) & (y < self.num_classes)  # a mask, not an index: no host sync in a step
        ce = F.cross_entropy(logits, y.clamp(0, self.num_classes - 1), reduction="none")
        return self.supervised_weight * (ce * keep).sum() / keep.sum().clamp_min(1)

    def latent_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, z: Tensor, y: Optional[Tensor]
    ) -> dict[str, Tensor]:
        """Per-sample (or scalar) loss terms beyond reconstruction; summed into the loss."""
        raise NotImplementedError

    def latent_code(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """The code the decoder sees in training (a reparameterised draw)."""
        return reparameterize(mu, logvar)

    def losses(self, x: Tensor, y: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Batch means of the loss and its parts (``nll`` = reconstruction cross-entropy)."""
        mu, logvar = self.encode_distribution(x)
        z = self.latent_code(mu, logvar)
        nll = self.recon_nll(x, z)
        parts = {k: v.mean() for k, v in self.latent_terms(x, mu, logvar, z, y).items()}
        loss = nll.mean() + sum(parts.values())
        points = unpack(x).mask.sum()
        return {"loss": loss, "nll": nll.mean(), "nll_per_point": nll.sum() / points.clamp_min(1), **parts}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """One optimizer step; labels feed the supervision term."""
        x, y = batch
        parts = self.losses(x, y)
        self.add_to_epoch(parts["nll"] * len(x), x)
        self.log_train_step({f"train/{k}": v for k, v in parts.items()})
        return parts["loss"]

    def add_to_epoch(self, nll: Tensor, x: Tensor) -> None:
        """Add a batch's reconstruction cross-entropy (per curve, or their sum) and its observed
        points to the epoch's sums (device tensors: no host sync within the epoch)."""
        self._epoch_sums[0] = self._epoch_sums[0] + nll.detach().float().sum()
        self._epoch_sums[1] = self._epoch_sums[1] + unpack(x).mask.detach().float().sum()

    def end_epoch(self) -> None:
        """Store the epoch's reconstruction cross-entropy per observed point in ``recon_history``."""
        nll_sum, points = (float(v) for v in self._epoch_sums)  # one host read per epoch
        if points > 0:
            self.recon_history.append(nll_sum / points)
        self._epoch_sums = [0.0, 0.0]

    def on_train_epoch_end(self) -> None:
        """:meth:`end_epoch`."""
        self.end_epoch()

    def test_values(self, x: Tensor) -> dict[str, Tensor]:
        """The loss and its parts on a test batch."""
        return {f"test/{k}": v for k, v in self.losses(x).items()}

"""VaDE (Jiang et al. 2017; thesis §7.1, spec §B.1): a VAE whose prior is a learnable Gaussian
mixture, trained in three stages from one command."""

from __future__ import annotations

from typing import Any, Callable, Literal, Optional

import numpy as np
import torch
from torch import Tensor

from genexp.constraints import NonNegativeInt, PositiveFloat, PositiveInt, UnitInterval
from genexp.errors import ConfigError
from genexp.losses.clustering import vade_kl
from genexp.metrics.clustering import clustering_scores
from genexp.models.components.gmm_init import fit_gmm_restarts
from genexp.models.components.partitioner import kmeans_labels
from genexp.models.components.staging import Stage, StagedModel, fit_loss, train_tensor
from genexp.models.vae import VAE

SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


class VaDE(StagedModel, VAE):
    """Variational Deep Embedding with the closed-form ELBO of spec §B.1.

    Stages (one command; :mod:`genexp.models.components.staging`), all on the run's device:

    1. ``pretrain``: ``pretrain_epochs`` epochs of a plain autoencoder (decoder applied to the
       posterior mean, loss on the clean input only: ``pretrain_loss="nll"`` the model's
       reconstruction NLL, ``"mse"`` the squared error of the decoded mean on the [0, 1] scale,
       summed over pixels, as DEC's autoencoder and the public VaDE ports train it; with
       ``pretrain_noise`` > 0 a denoising one: each input pixel is set to the background value
       with that probability) with the model's optimizer settings (learning rate
       ``pretrain_lr`` when given), on the training split in the datamodule's batch size.
       Diagnostic (labels are read only here, never used for training): ``kmeans_acc`` /
       ``kmeans_purity`` of k-means on the pretrained codes;
    2. ``gmm_init``: ``gmm_restarts`` diagonal-GMM starts on the encoder means of the training
       split (each: k-means with ``kmeans_n_init`` restarts, then EM), the one with the highest
       likelihood copied into the prior (means and variances; weights uniform unless
       ``gmm_init_weights``). Diagnostics: the chosen and the worst start's mean log-likelihood,
       and ``init_acc`` / ``init_purity`` / ``init_smallest_frac`` of ``cluster(x)`` right after
       the copy;
    3. joint training (Lightning's loop, ``trainer.max_epochs`` epochs) of encoder, decoder and
       prior on -ELBO = NLL + KL(q(z,y|x) || p(z,y)), with q(y|x) = the prior's
       responsibilities at the sampled z (as in the official code); ``scheduler`` (a
       ``_partial_`` LR scheduler, stepped once per epoch) decays the learning rate.

    Stage artefacts land in ``<run>/stages/{pretrain,gmm_init}.pt``; ``model.stages.pretrain=``
    (and/or ``model.stages.gmm_init=``) starts a new run from another run's stage. ``cluster(x)``
    = argmax of the responsibilities at the encoder mean.
    """

    def __init__(
        self,
        *args: Any,
        pretrain_epochs: NonNegativeInt = 10,
        pretrain_noise: UnitInterval = 0.0,
        pretrain_loss: Literal["nll", "mse"] = "nll",
        pretrain_lr: Optional[PositiveFloat] = None,
        gmm_fit_n: Optional[PositiveInt] = None,
        gmm_restarts: PositiveInt = 1,
        kmeans_n_init: PositiveInt = 10,
        gmm_init_weights: bool = False,
        scheduler: Optional[SchedulerFactory] = None,
        stages: Optional[dict[str, Optional[str]]] = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.prior, "responsibilities") or not hasattr(self.prior, "means"):
            raise ConfigError(
                f"vade needs a Gaussian-mixture prior (a GMMPrior), got {type(self.prior).__name__}"
            )
        if pretrain_epochs < 0:
            raise ConfigError(f"model.pretrain_epochs must be >= 0, got {pretrain_epochs}")
        if not 0.0 <= pretrain_noise < 1.0:
            raise ConfigError(f"model.pretrain_noise must be in [0, 1), got {pretrain_noise}")
        if pretrain_loss not in ("nll", "mse"):
            raise ConfigError(f"model.pretrain_loss must be 'nll' or 'mse', got {pretrain_loss!r}")
        if pretrain_lr is not None and not pretrain_lr > 0:
            raise ConfigError(f"model.pretrain_lr must be > 0 (or null), got {pretrain_lr}")
        if gmm_restarts < 1 or kmeans_n_init < 1:
            raise ConfigError(
                f"model.gmm_restarts and model.kmeans_n_init must be >= 1, got {gmm_restarts} and "
                f"{kmeans_n_init}"
            )
        self.pretrain_epochs = int(pretrain_epochs)
        self.pretrain_noise = float(pretrain_noise)
        self.pretrain_loss_kind = pretrain_loss
        self.pretrain_lr = None if pretrain_lr is None else float(pretrain_lr)
        self.gmm_fit_n = gmm_fit_n
        self.gmm_restarts, self.kmeans_n_init = int(gmm_restarts), int(kmeans_n_init)
        self.scheduler_factory = scheduler
        self.gmm_init_weights = bool(gmm_init_weights)
        self.seed = int(seed)
        self.init_stages(["pretrain", "gmm_init"], stages)

    # -- stages -----------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Stages 1 and 2 (skipped when done: resumed run, or loaded from ``model.stages``)."""
        self.run_stages(
            [
                Stage(
                    "pretrain",
                    self.pretrain,
                    {"encoder": self.encoder, "decoder": self.decoder},
                    freeze=False,
                ),
                Stage("gmm_init", self.fit_gmm_prior, {"prior": self.prior}, freeze=False),
            ]
        )

    def corrupt(self, x: Tensor) -> Tensor:
        """Masking noise of the denoising pretraining: each scalar becomes the background value
        (the low end of ``value_range``, else 0) with probability ``pretrain_noise``."""
        if self.pretrain_noise == 0.0:
            return x
        background = self.value_range[0] if self.value_range is not None else 0.0
        return x.masked_fill(torch.rand_like(x) < self.pretrain_noise, background)

    def pretrain_loss(self, x: Tensor) -> Tensor:
        """Stage 1's loss (batch mean) of reconstructing ``x`` from the posterior mean of its
        corrupted copy: the reconstruction NLL, or the squared error of the decoded mean with
        ``x`` and the decoded mean scaled to [0, 1] (summed over scalars)."""
        z = self.encode(self.corrupt(x))
        if self.pretrain_loss_kind == "nll":
            return self.nll(x, self.decoder(z)).mean()
        lo, hi = self.value_range if self.value_range is not None else (0.0, 1.0)
        return ((self.decode(z) - x) / (hi - lo)).pow(2).flatten(1).sum(dim=1).mean()

    def pretrain(self) -> dict[str, Any]:
        """Stage 1: the autoencoder pretraining loop; returns its first/last epoch losses and the
        k-means diagnostics of the pretrained codes."""
        x = train_tensor(self.trainer)
        params = [p for m in (self.encoder, self.decoder) for p in m.parameters()]
        extra = {} if self.pretrain_lr is None else {"lr": self.pretrain_lr}
        optimizer = self.optimizer_factory(params=params, **extra)
        batch_size = int(getattr(self.trainer.datamodule, "batch_size", 256))
        info: dict[str, Any] = dict(
            fit_loss(self.pretrain_loss, optimizer, x, batch_size, self.pretrain_epochs, self.device)
        )
        codes, labels = self.labelled_codes()
        if labels is not None:
            pred = kmeans_labels(codes, self.prior.num_components, self.kmeans_n_init, 300, self.seed)
            info.update(_scores("kmeans", labels, pred, self.prior.num_components))
        return info

    def labelled_codes(self) -> tuple[Tensor, Optional[Tensor]]:
        """Encoder means of the GMM-fit images (the first ``gmm_fit_n`` training images) and their
        labels (None without labels); labels only feed diagnostics."""
        x, y = self.trainer.datamodule.get_data("train", self.gmm_fit_n)
        return self.encoder_means(x), y

    @torch.no_grad()
    def encoder_means(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """Posterior means of ``x`` in eval mode, on the CPU."""
        was_training = self.training
        self.eval()
        out = [self.encode(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        self.train(was_training)
        return torch.cat(out)

    def fit_gmm_prior(self) -> dict[str, Any]:
        """Stage 2: the restarted diagonal-GMM fit of the encoder means (no labels), copied into
        the prior. Returns the chosen and the worst start's mean log-likelihood per code, the
        chosen start, and the clustering scores right after the copy (if there are labels)."""
        codes, labels = self.labelled_codes()
        gmm = fit_gmm_restarts(
            codes, self.prior.num_components, self.gmm_restarts, self.kmeans_n_init, self.seed
        )
        prior = self.prior
        with torch.no_grad():
            prior.means.copy_(torch.as_tensor(gmm.means, dtype=prior.means.dtype))
            prior.logvars.copy_(torch.as_tensor(np.log(gmm.variances), dtype=prior.logvars.dtype))
            if self.gmm_init_weights:
                prior.logits.copy_(torch.as_tensor(np.log(gmm.weights), dtype=prior.logits.dtype))
            else:
                prior.logits.zero_()
        info: dict[str, Any] = {
            "gmm_loglik": gmm.loglik,
            "gmm_loglik_worst": min(gmm.logliks),
            "gmm_best_start": gmm.best,
            "gmm_starts": len(gmm.logliks),
        }
        if labels is not None:
            with torch.no_grad():
                pred = self.prior.responsibilities(codes.to(self.device)).argmax(dim=1).cpu()
            info.update(_scores("init", labels, pred, self.prior.num_components))
        return info

    def configure_optimizers(self) -> Any:
        """The model's optimizer over all trainable parameters, with ``scheduler`` stepped per epoch."""
        optimizer = super().configure_optimizers()
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    # -- the objective ----------------------------------------------------------------------
    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(q(z,y|x) || p(z,y)) per sample, with q(y|x) = responsibilities at the sampled z."""
        prior = self.prior
        gamma = prior.responsibilities(z)
        return vade_kl(mu, logvar, gamma, prior.means, prior.clamped_logvars, prior.log_weights)

    # -- capabilities -----------------------------------------------------------------------
    def cluster(self, x: Tensor) -> Tensor:
        """argmax_k p(y=k | z = posterior mean)."""
        return self.prior.responsibilities(self.encode(x)).argmax(dim=1)


def _scores(prefix: str, labels: Tensor, pred: Tensor, k: int) -> dict[str, float]:
    """``<prefix>_acc`` (Hungarian), ``<prefix>_purity`` and ``<prefix>_smallest_frac`` (the share
    of the smallest of ``k`` clusters) of the cluster indices ``pred``."""
    scores = clustering_scores(labels, pred)
    smallest = torch.bincount(pred.long().view(-1), minlength=k).min()
    return {
        f"{prefix}_acc": scores["cluster_acc"],
        f"{prefix}_purity": scores["cluster_purity"],
        f"{prefix}_smallest_frac": float(smallest) / max(1, pred.numel()),
    }

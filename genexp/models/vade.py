"""VaDE (Jiang et al. 2017; thesis §7.1, spec §B.1): a VAE whose prior is a learnable Gaussian
mixture, trained in three stages from one command."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from genexp.constraints import NonNegativeInt, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.clustering import vade_kl
from genexp.models.components.staging import Stage, StagedModel, fit_loss, train_tensor
from genexp.models.vae import VAE


class VaDE(StagedModel, VAE):
    """Variational Deep Embedding with the closed-form ELBO of spec §B.1.

    Stages (one command; :mod:`genexp.models.components.staging`), all on the run's device:

    1. ``pretrain``: ``pretrain_epochs`` epochs of a plain autoencoder (decoder applied to the
       posterior mean, loss = reconstruction NLL only) with the model's optimizer settings, on
       the training split in the datamodule's batch size;
    2. ``gmm_init``: a diagonal GMM (scikit-learn ``GaussianMixture``) fitted on the encoder means
       of the training split and copied into the prior (means and variances; weights uniform
       unless ``gmm_init_weights``);
    3. joint training (Lightning's loop, ``trainer.max_epochs`` epochs) of encoder, decoder and
       prior on -ELBO = NLL + KL(q(z,y|x) || p(z,y)), with q(y|x) = the prior's
       responsibilities at the sampled z (as in the official code).

    Stage artefacts land in ``<run>/stages/{pretrain,gmm_init}.pt``; ``model.stages.pretrain=``
    (and/or ``model.stages.gmm_init=``) starts a new run from another run's stage. ``cluster(x)``
    = argmax of the responsibilities at the encoder mean.
    """

    def __init__(
        self,
        *args: Any,
        pretrain_epochs: NonNegativeInt = 10,
        gmm_fit_n: Optional[PositiveInt] = None,
        gmm_init_weights: bool = False,
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
        self.pretrain_epochs = int(pretrain_epochs)
        self.gmm_fit_n = gmm_fit_n
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

    def pretrain_loss(self, x: Tensor) -> Tensor:
        """Stage 1's loss: the reconstruction NLL of the decoded posterior mean (batch mean)."""
        return self.nll(x, self.decoder(self.encode(x))).mean()

    def pretrain(self) -> dict[str, Any]:
        """Stage 1: the autoencoder pretraining loop; returns its first/last epoch losses."""
        x = train_tensor(self.trainer)
        params = [p for m in (self.encoder, self.decoder) for p in m.parameters()]
        optimizer = self.optimizer_factory(params=params)
        batch_size = int(getattr(self.trainer.datamodule, "batch_size", 256))
        return fit_loss(self.pretrain_loss, optimizer, x, batch_size, self.pretrain_epochs, self.device)

    @torch.no_grad()
    def encoder_means(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """Posterior means of ``x`` in eval mode, on the CPU."""
        was_training = self.training
        self.eval()
        out = [self.encode(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        self.train(was_training)
        return torch.cat(out)

    def fit_gmm_prior(self) -> dict[str, Any]:
        """Stage 2: fit a diagonal GMM to the encoder means of the training split; copy it into
        the prior. Returns the GMM's mean log-likelihood per code."""
        from sklearn.mixture import GaussianMixture

        x, _ = self.trainer.datamodule.get_data("train", self.gmm_fit_n)
        mu = self.encoder_means(x).double().numpy()
        gmm = GaussianMixture(self.prior.num_components, covariance_type="diag", random_state=self.seed).fit(
            mu
        )
        prior = self.prior
        with torch.no_grad():
            prior.means.copy_(torch.as_tensor(gmm.means_, dtype=prior.means.dtype))
            prior.logvars.copy_(torch.as_tensor(np.log(gmm.covariances_), dtype=prior.logvars.dtype))
            if self.gmm_init_weights:
                prior.logits.copy_(torch.as_tensor(np.log(gmm.weights_), dtype=prior.logits.dtype))
            else:
                prior.logits.zero_()
        return {"gmm_loglik": float(gmm.score(mu))}

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

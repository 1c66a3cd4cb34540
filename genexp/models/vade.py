"""VaDE (Jiang et al. 2017; thesis §7.1, spec §B.1): a VAE whose prior is a learnable Gaussian
mixture, trained in three stages from one command."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from genexp.errors import ConfigError
from genexp.losses.clustering import vade_kl
from genexp.models.stage_checkpoints import load_weights, save_stage_checkpoint
from genexp.models.vae import VAE
from genexp.priors.gmm import GMMPrior


class VaDE(VAE):
    """Variational Deep Embedding with the closed-form ELBO of spec §B.1.

    Stages (one ``trainer.fit``; ``trainer.max_epochs`` counts all epochs):

    1. ``pretrain_epochs`` epochs of a plain autoencoder (decoder applied to the posterior mean,
       loss = reconstruction NLL only);
    2. at the start of the next epoch a diagonal GMM (scikit-learn ``GaussianMixture``) is fitted
       on the encoder means of the training split and copied into the prior (means and
       variances; weights uniform unless ``gmm_init_weights``); the optimizer's state is reset;
    3. joint training of encoder, decoder and prior on -ELBO = NLL + KL(q(z,y|x) || p(z,y)), with
       q(y|x) = the prior's responsibilities at the sampled z (as in the official code).

    Checkpoints ``checkpoints/vade_pretrained.ckpt`` (after stage 1) and
    ``checkpoints/vade_gmm_init.ckpt`` (after stage 2) are written to the run folder;
    ``init_from=<one of them>`` starts a new run from that stage (the stage is stored in the
    weights, so pretraining and/or the GMM fit are skipped). ``cluster(x)`` = argmax of the
    responsibilities at the encoder mean.
    """

    def __init__(
        self,
        *args: Any,
        pretrain_epochs: int = 10,
        gmm_fit_n: Optional[int] = None,
        gmm_init_weights: bool = False,
        init_from: Optional[str] = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.prior, GMMPrior):
            raise ConfigError(
                f"vade needs a Gaussian-mixture prior (a GMMPrior), got {type(self.prior).__name__}"
            )
        if pretrain_epochs < 0:
            raise ConfigError(f"model.pretrain_epochs must be >= 0, got {pretrain_epochs}")
        self.pretrain_epochs = int(pretrain_epochs)
        self.gmm_fit_n = gmm_fit_n
        self.gmm_init_weights = bool(gmm_init_weights)
        self.seed = int(seed)
        # stage state travels in the state_dict: resumed runs and init_from continue where they were
        self.register_buffer("joint_stage", torch.zeros((), dtype=torch.long))
        self.register_buffer("pretrained_epochs", torch.zeros((), dtype=torch.long))
        load_weights(self, init_from)

    @property
    def in_pretraining(self) -> bool:
        """Whether the model is still in stage 1 (or waiting for its GMM fit)."""
        return not bool(self.joint_stage)

    # -- stages -----------------------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        """Switch to joint training (stage 2) once pretraining is done."""
        if self.in_pretraining and int(self.pretrained_epochs) >= self.pretrain_epochs:
            if self.pretrain_epochs > 0:
                save_stage_checkpoint(self.trainer, "vade_pretrained")
            self.fit_gmm_prior()
            self.joint_stage.fill_(1)
            for opt in self.trainer.optimizers:
                opt.state.clear()
            save_stage_checkpoint(self.trainer, "vade_gmm_init")

    def on_train_epoch_end(self) -> None:
        """Count pretraining epochs."""
        if self.in_pretraining:
            self.pretrained_epochs += 1

    @torch.no_grad()
    def encoder_means(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """Posterior means of ``x`` in eval mode, on the CPU."""
        was_training = self.training
        self.eval()
        out = [self.encode(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        self.train(was_training)
        return torch.cat(out)

    def fit_gmm_prior(self) -> None:
        """Fit a diagonal GMM to the encoder means of the training split; copy it into the prior."""
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

    # -- the objective ----------------------------------------------------------------------
    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """Stage 1: autoencoder reconstruction at the posterior mean; stage 3: -ELBO."""
        if not self.in_pretraining:
            return super().losses(x)
        nll = self.nll(x, self.decoder(self.encode(x))).mean()
        return {"loss": nll, "nll": nll, "reg": torch.zeros_like(nll)}

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(q(z,y|x) || p(z,y)) per sample, with q(y|x) = responsibilities at the sampled z."""
        prior = self.prior
        gamma = prior.responsibilities(z)
        return vade_kl(mu, logvar, gamma, prior.means, prior.clamped_logvars, prior.log_weights)

    # -- capabilities -----------------------------------------------------------------------
    def cluster(self, x: Tensor) -> Tensor:
        """argmax_k p(y=k | z = posterior mean)."""
        return self.prior.responsibilities(self.encode(x)).argmax(dim=1)

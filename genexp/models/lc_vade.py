"""LC-VaDE / LC-VaDES (thesis ch. 9, spec §L): VaDE for folded light curves with an amortised-GP
decoder, a class-conditional side-feature prior p(f|y), label supervision and the Information
Anomaly Score."""

from __future__ import annotations

from typing import Any, Literal, Optional

import torch
from torch import Tensor

from genexp.data.lightcurve_packing import NUM_FEATURES, unpack
from genexp.errors import ConfigError
from genexp.losses.clustering import diag_gaussian_entropy, expected_component_log_prob, vade_kl
from genexp.models.components.class_priors import (
    LogVarianceOffset,
    PriorDrift,
    class_moments,
    copy_into_prior,
)
from genexp.models.components.staging import Stage
from genexp.models.lc_autoencoder import LCAutoencoder
from genexp.priors.gmm import GMMPrior
from genexp.run_record import run_record


class LCVaDE(LCAutoencoder):
    """LC-VaDE with supervision (LC-VaDES): -ELBO of spec §L.2 + ``supervised_weight`` * CE(y, gamma).

    Prior p(z|y) = the GMM ``prior`` (K = ``num_classes`` components over the full z, uniform
    pi); p(f|y) = a second diagonal GMM over the 3 side features (learnable means/variances).
    q(y|z,f) = gamma ∝ pi_k N(z; mu_k, s_k^2) N(f; a_k, b_k^2) at a reparameterised z in training
    and z = posterior mean for scores. ``feature_prior=false`` drops p(f|y) from gamma and the loss.

    Stages before joint training (one command; :mod:`genexp.models.components.staging`):

    1. ``pretrain`` (:class:`LCAutoencoder`): ``pretrain_epochs`` autoencoder epochs, as VaDE's;
    2. ``prior_init`` (``prior_init=class_statistics``): the supervised maximum-likelihood start of
       both class-conditional priors on the training split: p(f|y=k) = the mean and variance of
       f over class k, p(z|y=k) = the mean and variance of the pretrained encoder means over class
       k (VaDE fits a GMM to those means without labels; with labels the fit is the class
       moments). The pretraining never trains the encoder's log-variance output, so it also starts
       q(z|x)'s variances at the mean class variance (a fixed per-dimension offset of the
       log-variance, ``logvar_start``): without it the first joint steps draw z with variance ~1
       around class clusters of std 0.01-0.3. ``prior_init=config`` keeps the configs' own start.

    The priors' movement from where joint training starts is recorded every epoch as
    ``prior/{z,f}_mean_shift_<class>`` (norm of the mean change) and
    ``prior/{z,f}_logvar_change_<class>`` (mean signed log-variance change).
    """

    stage_list = ("pretrain", "prior_init")

    def __init__(
        self,
        *args: Any,
        feature_prior: bool = True,
        prior_init: Literal["class_statistics", "config"] = "class_statistics",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.prior, "component_log_prob") or self.prior.num_components != self.num_classes:
            raise ConfigError(
                f"lc_vade needs a GMM prior with num_components = model.num_classes = {self.num_classes}"
            )
        if prior_init not in ("class_statistics", "config"):
            raise ConfigError(f"model.prior_init must be class_statistics or config, got {prior_init!r}")
        self.feature_prior = (
            GMMPrior(NUM_FEATURES, self.num_classes, init="normal", seed=self.seed) if feature_prior else None
        )
        self.prior_init = prior_init
        self.z_drift = PriorDrift(self.num_classes, self.latent_dim)
        self.f_drift = PriorDrift(self.num_classes, NUM_FEATURES) if feature_prior else None
        self.logvar_start = LogVarianceOffset(self.latent_dim)

    # -- stages -----------------------------------------------------------------------------
    def fit_stages(self) -> list[Stage]:
        """``pretrain``, then ``prior_init`` (with ``prior_init=class_statistics``)."""
        stages = super().fit_stages()
        if self.prior_init == "class_statistics":
            priors = {"prior": self.prior, "logvar_start": self.logvar_start}
            if self.feature_prior is not None:
                priors["feature_prior"] = self.feature_prior
            stages.append(Stage("prior_init", self.init_priors, priors, freeze=False))
        return stages

    def on_fit_start(self) -> None:
        """The stages, then the snapshot the priors' drift is measured from (kept in checkpoints,
        so a resumed run measures from the same start)."""
        super().on_fit_start()
        if not bool(self.z_drift.taken):
            self.z_drift.snapshot(self.prior)
            if self.f_drift is not None:
                self.f_drift.snapshot(self.feature_prior)

    def init_priors(self) -> dict[str, Any]:
        """Stage 2 on the training split (see :meth:`fit_class_priors`)."""
        x, y = self.trainer.datamodule.get_data("train")
        return self.fit_class_priors(x, y)

    @torch.no_grad()
    def fit_class_priors(self, x: Tensor, y: Tensor, batch_size: int = 1000) -> dict[str, float]:
        """p(z|y=k) := class-k moments of the encoder means of ``x``, p(f|y=k) := class-k moments
        of the side features, and ``logvar_start`` so that q(z|x)'s mean log-variance on ``x`` is
        ln of the mean class variance per dimension; returns the mean prior std of each and the
        training accuracy of argmax q(y|z,f) right after the copy."""
        was_training = self.training
        self.eval()
        parts = [
            self.encode_distribution(x[i : i + batch_size].to(self.device))
            for i in range(0, len(x), batch_size)
        ]
        self.train(was_training)
        mu, logvar = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        y, f = y.to(mu.device), unpack(x).f.to(mu.device)
        z_means, z_vars = class_moments(mu, y, self.num_classes)
        copy_into_prior(self.prior, z_means, z_vars)
        self.logvar_start.match(logvar, z_vars.clamp_min(1e-6).mean(0))
        info = {"z_std": float(z_vars.sqrt().mean())}
        if self.feature_prior is not None:
            f_means, f_vars = class_moments(f, y, self.num_classes)
            copy_into_prior(self.feature_prior, f_means, f_vars)
            info["f_std"] = float(f_vars.sqrt().mean())
        inlier = y < self.num_classes
        pred = self.log_joint(mu, f).argmax(-1)
        info["train_acc"] = float((pred[inlier] == y[inlier]).float().mean())
        return info

    def on_train_epoch_end(self) -> None:
        """Also record the priors' drift since joint training started."""
        super().on_train_epoch_end()
        if self._trainer is None or not bool(self.z_drift.taken):
            return
        names = list(getattr(self.trainer.datamodule, "class_names", []))[: self.num_classes]
        names = names if len(names) == self.num_classes else [str(k) for k in range(self.num_classes)]
        values: dict[str, float] = {}
        pairs = [("z", self.z_drift, self.prior), ("f", self.f_drift, self.feature_prior)]
        for what, drift, prior in pairs:
            if drift is None:
                continue
            shift, change = (t.tolist() for t in drift.drift(prior))
            for name, s, c in zip(names, shift, change):
                values[f"prior/{what}_mean_shift_{name}"] = s
                values[f"prior/{what}_logvar_change_{name}"] = c
            values[f"prior/{what}_mean_shift_max"] = max(shift)
        run_record(self.trainer).record(self.trainer, values)

    # -- the objective ----------------------------------------------------------------------
    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance (the latter shifted by ``logvar_start``)."""
        mu, logvar = super().encode_distribution(x)
        return mu, self.logvar_start(logvar)

    def log_joint(self, z: Tensor, f: Tensor) -> Tensor:
        """ln pi_k + ln N(z; mu_k, s_k^2) (+ ln N(f; a_k, b_k^2)) per row and component (n, K)."""
        out = self.prior.component_log_prob(z) + self.prior.log_weights
        if self.feature_prior is not None:
            out = out + self.feature_prior.component_log_prob(f)
        return out

    def latent_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, z: Tensor, y: Optional[Tensor]
    ) -> dict[str, Tensor]:
        """KL(q(z,y|x,f) || p(z,y)), -E_gamma ln p(f|y) and the supervised cross-entropy."""
        f = unpack(x).f
        logits = self.log_joint(z, f)
        gamma = logits.softmax(-1)
        p = self.prior
        terms = {"kl": vade_kl(mu, logvar, gamma, p.means, p.clamped_logvars, p.log_weights)}
        if self.feature_prior is not None:
            terms["feature_nll"] = -(gamma * self.feature_prior.component_log_prob(f)).sum(-1)
        terms["ce"] = self.supervision(logits, y)
        return terms

    def responsibilities(self, x: Tensor) -> Tensor:
        """q(y|z = posterior mean, f) (n, K)."""
        return self.log_joint(self.encode(x), unpack(x).f).softmax(-1)

    # -- scores -----------------------------------------------------------------------------
    def information_terms(self, x: Tensor) -> dict[str, Tensor]:
        """The two terms of IAS (eq. 9.12) per row: ``cross`` = sum_k gamma_k E_q(z|x)[ln N(z;
        mu_k, s_k^2)] (gamma at z = posterior mean) and ``entropy`` = h_q(z|x)."""
        mu, logvar = self.encode_distribution(x)
        gamma = self.log_joint(mu, unpack(x).f).softmax(-1)
        expected = expected_component_log_prob(mu, logvar, self.prior.means, self.prior.clamped_logvars)
        return {"cross": (gamma * expected).sum(-1), "entropy": diag_gaussian_entropy(logvar)}

    def information_score(self, x: Tensor) -> Tensor:
        """IAS(x) = cross + entropy (:meth:`information_terms`); low = anomalous."""
        return sum(self.information_terms(x).values())

    def anomaly_score(self, x: Tensor) -> Tensor:
        """-IAS (higher = more anomalous)."""
        return -self.information_score(x)

    def anomaly_score_terms(self, x: Tensor) -> dict[str, Tensor]:
        """-cross and -entropy: the parts of :meth:`anomaly_score` (they sum to it), each scored
        alone by the anomaly metric."""
        return {k: -v for k, v in self.information_terms(x).items()}

    def cluster(self, x: Tensor) -> Tensor:
        """argmax_k q(y=k|z,f)."""
        return self.responsibilities(x).argmax(-1)

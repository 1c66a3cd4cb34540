"""The baselines of thesis Table 9.4 on LC-VaDE's encoder and GP decoder: the unimodal VAE with
latent supervision, and the energy-GMM (DAGMM-style, Zong et al. 2018) autoencoder."""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor, nn

from genexp.data.lightcurve_packing import unpack
from genexp.errors import ConfigError
from genexp.losses.gaussian import diag_gaussian_log_prob
from genexp.models.lc_autoencoder import LCAutoencoder


class LCVAEBaseline(LCAutoencoder):
    """VAE baseline (S): the ``prior`` group's prior (the thesis: N(0, I), ``prior=normal``, KL in
    closed form), plus supervision in the latent space (a linear softmax classifier on z, weight
    ``supervised_weight``). Score: -ln p(mu~) (N(0, I): -ln N(mu~; 0, I))."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (hasattr(self.prior, "kl_from") and hasattr(self.prior, "log_prob")):
            raise ConfigError(
                f"lc_vae_baseline needs a prior with kl_from and log_prob (prior=normal or prior=gmm), "
                f"got {type(self.prior).__name__}"
            )
        self.classifier = nn.Linear(self.latent_dim, self.num_classes)

    def latent_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, z: Tensor, y: Optional[Tensor]
    ) -> dict[str, Tensor]:
        """KL(q(z|x) || p(z)) (the prior's ``kl_from``) and the classifier's cross-entropy."""
        return {"kl": self.prior.kl_from(mu, logvar, z), "ce": self.supervision(self.classifier(z), y)}

    def anomaly_score(self, x: Tensor) -> Tensor:
        """-ln p(encoded mean) (low likelihood = anomalous)."""
        return -self.prior.log_prob(self.encode(x))


class LCEnergyGMM(LCAutoencoder):
    """Energy GMM (S): a deterministic autoencoder (z = encoder mean) and an estimation network
    that maps [z, reconstruction cross-entropy per point] to soft memberships gamma (K); the
    batch's GMM (phi, means, diagonal variances from gamma) gives the sample energy
    E = -ln sum_k phi_k N(h; m_k, v_k). Loss = recon + ``lambda_energy`` * E + ``lambda_cov`` *
    sum 1/v (unsupervised: set ``supervised_weight`` 0). Scores use running (EMA, ``momentum``)
    GMM parameters; high energy = anomalous."""

    def __init__(
        self,
        *args: Any,
        lambda_energy: float = 0.1,
        lambda_cov: float = 0.005,
        momentum: float = 0.9,
        hidden: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_energy = float(lambda_energy)
        self.lambda_cov = float(lambda_cov)
        self.momentum = float(momentum)
        dim = self.latent_dim + 1
        self.estimator = nn.Sequential(
            nn.Linear(dim, hidden), nn.Tanh(), nn.Dropout(0.5), nn.Linear(hidden, self.num_classes)
        )
        self.register_buffer("run_log_phi", torch.full((self.num_classes,), -math.log(self.num_classes)))
        self.register_buffer("run_means", torch.zeros(self.num_classes, dim))
        self.register_buffer("run_logvars", torch.zeros(self.num_classes, dim))

    def latent_code(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """The encoder mean (a deterministic autoencoder)."""
        return mu

    def energy_input(self, x: Tensor, z: Tensor) -> Tensor:
        """[z, reconstruction cross-entropy per observed point] (n, J + 1)."""
        per_point = self.recon_nll(x, z) / unpack(x).mask.sum(-1).clamp_min(1)
        return torch.cat([z, per_point.unsqueeze(-1)], -1)

    @staticmethod
    def energy(h: Tensor, log_phi: Tensor, means: Tensor, logvars: Tensor) -> Tensor:
        """-ln sum_k phi_k N(h; m_k, diag exp(logvars_k)) per row."""
        comp = diag_gaussian_log_prob(h.unsqueeze(1), means.unsqueeze(0), logvars.unsqueeze(0))
        return -torch.logsumexp(comp + log_phi, -1)

    def latent_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, z: Tensor, y: Optional[Tensor]
    ) -> dict[str, Tensor]:
        """Energy under the batch GMM and the inverse-variance penalty; updates the running GMM."""
        h = self.energy_input(x, z)
        gamma = self.estimator(h).softmax(-1)
        weight = gamma.sum(0) + 1e-6
        means = gamma.T @ h / weight.unsqueeze(-1)
        var = (gamma.T @ h.pow(2)) / weight.unsqueeze(-1) - means.pow(2) + 1e-4
        var = var.clamp_min(1e-4)
        log_phi = (weight / weight.sum()).log()
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.run_log_phi.copy_((m * self.run_log_phi.exp() + (1 - m) * log_phi.exp()).log())
                self.run_means.mul_(m).add_((1 - m) * means)
                self.run_logvars.copy_((m * self.run_logvars.exp() + (1 - m) * var).log())
        return {
            "energy": self.lambda_energy * self.energy(h, log_phi, means, var.log()),
            "cov": self.lambda_cov * (1 / var).sum(),
        }

    def anomaly_score(self, x: Tensor) -> Tensor:
        """The sample energy under the running GMM."""
        h = self.energy_input(x, self.encode(x))
        return self.energy(h, self.run_log_phi, self.run_means, self.run_logvars)

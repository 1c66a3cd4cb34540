"""LC-VaDE / LC-VaDES (thesis ch. 9, spec §L): VaDE for folded light curves with an amortised-GP
decoder, a class-conditional side-feature prior p(f|y), label supervision and the Information
Anomaly Score."""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from genexp.data.lightcurve_packing import NUM_FEATURES, unpack
from genexp.errors import ConfigError
from genexp.losses.clustering import diag_gaussian_entropy, expected_component_log_prob, vade_kl
from genexp.models.lc_autoencoder import LCAutoencoder
from genexp.priors.gmm import GMMPrior


class LCVaDE(LCAutoencoder):
    """LC-VaDE with supervision (LC-VaDES): -ELBO of spec §L.2 + ``supervised_weight`` * CE(y, gamma).

    Prior p(z|y) = the GMM ``prior`` (K = ``num_classes`` components over the full z, uniform
    pi); p(f|y) = a second diagonal GMM over the 3 side features (learnable means/variances).
    q(y|z,f) = gamma ∝ pi_k N(z; mu_k, s_k^2) N(f; a_k, b_k^2) at a reparameterised z in training
    and z = posterior mean for scores. ``feature_prior=false`` drops p(f|y) from gamma and the loss.
    """

    def __init__(self, *args: Any, feature_prior: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.prior, "component_log_prob") or self.prior.num_components != self.num_classes:
            raise ConfigError(
                f"lc_vade needs a GMM prior with num_components = model.num_classes = {self.num_classes}"
            )
        self.feature_prior = (
            GMMPrior(NUM_FEATURES, self.num_classes, init="normal", seed=self.seed) if feature_prior else None
        )

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

    def information_score(self, x: Tensor) -> Tensor:
        """IAS(x) = sum_k gamma_k E_q(z|x)[ln N(z; mu_k, s_k^2)] + h_q(z|x) (eq. 9.12); low = anomalous."""
        mu, logvar = self.encode_distribution(x)
        gamma = self.log_joint(mu, unpack(x).f).softmax(-1)
        expected = expected_component_log_prob(mu, logvar, self.prior.means, self.prior.clamped_logvars)
        return (gamma * expected).sum(-1) + diag_gaussian_entropy(logvar)

    def anomaly_score(self, x: Tensor) -> Tensor:
        """-IAS (higher = more anomalous)."""
        return -self.information_score(x)

    def cluster(self, x: Tensor) -> Tensor:
        """argmax_k q(y=k|z,f)."""
        return self.responsibilities(x).argmax(-1)

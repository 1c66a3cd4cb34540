"""VAE and beta-VAE: reconstruction + beta * KL(q(z|x) || p(z))."""

from __future__ import annotations

from torch import Tensor

from genexp.losses.gaussian import diag_gaussian_log_prob, kl_diag_to_standard_normal
from genexp.models.autoencoder import AutoencoderModule
from genexp.priors.normal import NormalPrior


class VAE(AutoencoderModule):
    """The variational autoencoder (beta = 1) and beta-VAE (any beta >= 0).

    KL is in closed form for the N(0, I) prior and a one-sample Monte-Carlo estimate
    log q(z|x) - log p(z) for any other prior (e.g. ``prior=gmm``). The test split's ELBO
    (nats per sample, beta = 1 whatever the training beta) is logged as ``test/elbo``.
    """

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(q(z|x) || p(z)) per sample."""
        if isinstance(self.prior, NormalPrior):
            return kl_diag_to_standard_normal(mu, logvar)
        return diag_gaussian_log_prob(z, mu, logvar) - self.prior.log_prob(z)

    def test_values(self, x: Tensor) -> dict[str, Tensor]:
        """The base test numbers plus the ELBO = -(NLL + KL)."""
        values = super().test_values(x)
        values["test/elbo"] = -(values["test/nll"] + values["test/reg"])
        return values

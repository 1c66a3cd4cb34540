"""VAE and beta-VAE: reconstruction + beta * KL(q(z|x) || p(z))."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from genexp.errors import ConfigError
from genexp.models.autoencoder import AutoencoderModule


class VAE(AutoencoderModule):
    """The variational autoencoder (beta = 1) and beta-VAE (any beta >= 0).

    KL is the prior's own ``kl_from``: in closed form for the N(0, I) prior, a one-sample
    Monte-Carlo estimate log q(z|x) - log p(z) for a mixture (e.g. ``prior=gmm``). The test split's
    ELBO (nats per sample, beta = 1 whatever the training beta) is logged as ``test/elbo``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.prior, "kl_from"):
            raise ConfigError(
                f"{type(self).__name__} needs a prior with kl_from(mu, logvar, z) (prior=normal or "
                f"prior=gmm), got {type(self.prior).__name__}"
            )

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """KL(q(z|x) || p(z)) per sample."""
        return self.prior.kl_from(mu, logvar, z)

    def test_values(self, x: Tensor) -> dict[str, Tensor]:
        """The base test numbers plus the ELBO = -(NLL + KL)."""
        values = super().test_values(x)
        values["test/elbo"] = -(values["test/nll"] + values["test/reg"])
        return values

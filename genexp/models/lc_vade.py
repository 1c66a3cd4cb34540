"""LC-VaDE / LC-VaDES (thesis ch. 9, spec §L): VaDE for folded light curves with an amortised-GP
decoder, a class-conditional side-feature prior p(f|y), label supervision and the Information
Anomaly Score."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.data.lightcurves import NUM_FEATURES, unpack
from genexp.errors import ConfigError
from genexp.losses.clustering import diag_gaussian_entropy, expected_component_log_prob, vade_kl
from genexp.losses.gaussian import reparameterize
from genexp.losses.likelihoods import gaussian_cross_entropy
from genexp.models.autoencoder import AutoencoderModule
from genexp.priors.gmm import GMMPrior


class LCAutoencoder(AutoencoderModule):
    """The light-curve autoencoder shared by LC-VaDE and its baselines.

    Input: packed curves (see :mod:`genexp.data.lightcurves`). The decoder is an
    :class:`~genexp.nets.gp_decoder.AmortisedGPDecoder`; the reconstruction term is the Gaussian
    cross-entropy between the observations N(mag, err^2) and the prediction N(mu^, s^^2) at the
    observed phases, summed over observed points. Subclasses define :meth:`latent_terms` (the
    per-sample terms added to it) and :meth:`anomaly_score`. ``supervised_weight`` scales the
    label cross-entropy (LC-VaDES). ``num_classes`` = inlier classes K;
    training labels >= K (none in the protocol's train split) are ignored by supervision.
    The per-point reconstruction cross-entropy of every training epoch is kept in ``recon_history``.
    """

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
    ) -> None:
        if num_classes < 1:
            raise ConfigError(f"model.num_classes (inlier classes) must be >= 1, got {num_classes}")
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
        self._epoch_sums = [0.0, 0.0]

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
        keep = (y >= 0) & (y < self.num_classes)
        if not keep.any():
            return logits.new_zeros(())
        return self.supervised_weight * F.cross_entropy(logits[keep], y[keep])

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
        self._epoch_sums[0] += float(parts["nll"].detach()) * len(x)
        self._epoch_sums[1] += float(unpack(x).mask.sum())
        self.log_train_step({f"train/{k}": v for k, v in parts.items()})
        return parts["loss"]

    def on_train_epoch_end(self) -> None:
        """Store the epoch's reconstruction cross-entropy per observed point."""
        if self._epoch_sums[1] > 0:
            self.recon_history.append(self._epoch_sums[0] / self._epoch_sums[1])
        self._epoch_sums = [0.0, 0.0]

    def test_values(self, x: Tensor) -> dict[str, Tensor]:
        """The loss and its parts on a test batch."""
        return {f"test/{k}": v for k, v in self.losses(x).items()}


class LCVaDE(LCAutoencoder):
    """LC-VaDE with supervision (LC-VaDES): -ELBO of spec §L.2 + ``supervised_weight`` * CE(y, gamma).

    Prior p(z|y) = the GMM ``prior`` (K = ``num_classes`` components over the full z, uniform
    pi); p(f|y) = a second diagonal GMM over the 3 side features (learnable means/variances).
    q(y|z,f) = gamma ∝ pi_k N(z; mu_k, s_k^2) N(f; a_k, b_k^2) at a reparameterised z in training
    and z = posterior mean for scores. ``feature_prior=false`` drops p(f|y) from gamma and the loss.
    """

    def __init__(self, *args: Any, feature_prior: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.prior, GMMPrior) or self.prior.num_components != self.num_classes:
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

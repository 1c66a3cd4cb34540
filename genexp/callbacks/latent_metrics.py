"""The thesis' latent diagnostics (ch. 6, spec §C3): log-MSE in X and Z, D_KL^VAE, D_KL^Z, Ĩ_q,
h_q(z|x), and the gap between the aggregate posterior and the prior."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.latent import latent_diagnostics, per_sample_squared_error


class LatentDiagnostics(MetricCallback):
    """On ``n`` points of ``split`` (the thesis uses the training set): encoder means/log-variances
    give ``kl_vae``, ``kl_z``, ``mi_q``, ``h_q_zx``, ``agg_kl_prior``, ``agg_w2_prior``;
    ``reconstruct`` gives ``log_mse_x``; ``decode`` + ``prior`` give ``log_mse_z`` on ``n_prior``
    prior draws (seeded). Plus ``latent_protocol``. Needs ``encode_distribution``.
    """

    default_name = "latent"

    def __init__(
        self, split: str = "train", n: int | None = 10000, n_prior: int = 10000, seed: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.split = split
        self.n = n
        self.n_prior = int(n_prior)
        self.seed = int(seed)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``encode_distribution`` and a datamodule."""
        if not has_capability(pl_module, "encode_distribution"):
            return f"{type(pl_module).__name__} has no encode_distribution(x)"
        if datamodule_of(trainer) is None:
            return "the trainer has no datamodule"
        return None

    def _encode(self, pl_module: L.LightningModule, xb: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, logvar = pl_module.encode_distribution(xb)
        out = {"mu": mu.double(), "logvar": logvar.double()}
        if has_capability(pl_module, "reconstruct"):
            out["sq_x"] = per_sample_squared_error(xb, pl_module.reconstruct(xb))
        return out

    def _roundtrip(self, pl_module: L.LightningModule, start: int, stop: int) -> dict[str, torch.Tensor]:
        with self.seeded(pl_module, self.seed, start):
            z = pl_module.prior.sample(stop - start)
        mu, _ = pl_module.encode_distribution(pl_module.decode(z))
        return {"sq_z": per_sample_squared_error(z, mu)}

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Encoder outputs (and reconstruction errors) on the split; z round-trip errors."""
        x, _ = datamodule_of(trainer).get_data(self.split, self.n)
        out = self.gather_rows(trainer, pl_module, x, None, lambda xb, _: self._encode(pl_module, xb))
        if (
            has_capability(pl_module, "decode")
            and getattr(pl_module, "prior", None) is not None
            and self.n_prior > 0
        ):
            out.update(
                self.gather_chunks(
                    trainer, pl_module, self.n_prior, lambda s, e: self._roundtrip(pl_module, s, e)
                )
            )
        return out

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """All diagnostics and the protocol."""
        prior = getattr(pl_module, "prior", None)
        pm = pc = None
        if prior is not None and hasattr(prior, "gaussian_moments"):
            m, c = prior.gaussian_moments()
            pm, pc = m.detach().double().cpu().numpy(), c.detach().double().cpu().numpy()
        out: dict[str, Any] = latent_diagnostics(
            collected["mu"],
            collected["logvar"],
            collected.get("sq_x"),
            collected.get("sq_z"),
            prior_mean=pm,
            prior_cov=pc,
        )
        out["latent_protocol"] = {
            "split": self.split,
            "n": len(collected["mu"]),
            "n_prior": len(collected.get("sq_z", [])),
            "seed": self.seed,
            "prior_moments": type(prior).__name__ if pm is not None else "N(0, I)",
            "units": "nats; log_mse = ln(mean squared error per scalar)",
        }
        return out

"""Reconstruction error of ``model.reconstruct(x)`` on a held-out split."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.latent import per_sample_squared_error


class ReconstructionMetrics(MetricCallback):
    """``reconstruction_mse`` (mean over points and coordinates, SC-GAN §6), its natural log
    ``reconstruction_log_mse`` (the thesis' "LL in X" on this split) and ``reconstruction_protocol``."""

    default_name = "reconstruction"

    def __init__(self, split: str = "test", n: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.split = split
        self.n = n

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``reconstruct``."""
        if not has_capability(pl_module, "reconstruct"):
            return f"{type(pl_module).__name__} has no reconstruct(x)"
        if datamodule_of(trainer) is None:
            return "the trainer has no datamodule"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Per-sample squared errors, gathered."""
        x, _ = datamodule_of(trainer).get_data(self.split, self.n)
        return self.gather_rows(
            trainer,
            pl_module,
            x,
            None,
            lambda xb, _: {"sq": per_sample_squared_error(xb, pl_module.reconstruct(xb))},
        )["sq"]

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """MSE, log-MSE and the protocol."""
        mse = collected.mean().item()
        return {
            "reconstruction_mse": mse,
            "reconstruction_log_mse": math.log(mse) if mse > 0 else None,
            "reconstruction_protocol": {
                "split": self.split,
                "n": len(collected),
                "reduction": "mean over points and coordinates",
            },
        }

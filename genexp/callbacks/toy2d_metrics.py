"""2-D toy metrics on generated points (PGMGAN §6, SC-GAN §6)."""

from __future__ import annotations

from typing import Any

import lightning as L

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.toy2d import toy2d_metrics


class Toy2DMetrics(MetricCallback):
    """Modes covered, high-quality %, reverse KL (ln) and per-mode shares for Gaussian mixtures
    (the datamodule's ``distribution.means`` / ``sigma``); the off-support fraction where the
    distribution has ``on_support`` (checkerboard); and the fraction of samples below the
    ``quantile`` of the real ``reference_split``'s log density where a density is known.

    Keys: ``modes``, ``modes_total``, ``hq_pct``, ``reverse_kl``, ``mode_share`` (list),
    ``mode_share_min``, ``mode_share_max``, ``off_support_frac``, ``low_density_frac``,
    ``low_density_threshold``, ``toy2d_protocol``. ``hq_sigmas``: the high-quality radius in
    sigmas (3, per coordinate).
    """

    default_name = "toy2d"

    def __init__(
        self,
        n_samples: int = 50000,
        seed: int = 0,
        hq_sigmas: float = 3.0,
        quantile: float = 0.01,
        reference_split: str = "test",
        batch_size: int = 10000,
        **kwargs: Any,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        self.n_samples = int(n_samples)
        self.seed = int(seed)
        self.hq_sigmas = float(hq_sigmas)
        self.quantile = float(quantile)
        self.reference_split = reference_split

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs a 2-D points datamodule with a known distribution and a sampler."""
        dm = datamodule_of(trainer)
        if dm is None or getattr(dm, "kind", None) != "points" or tuple(dm.shape) != (2,):
            return "the dataset is not a 2-D point set"
        if getattr(dm, "distribution", None) is None:
            return f"dataset {dm.name!r} exposes no distribution"
        if not has_capability(pl_module, "sample"):
            return f"{type(pl_module).__name__} cannot sample"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """``n_samples`` generated points, gathered."""
        return self.gather_samples(trainer, pl_module, self.n_samples, self.seed, lambda x: {"x": x.float()})[
            "x"
        ]

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """Every metric the distribution supports, plus the protocol."""
        dm = datamodule_of(trainer)
        dist = dm.distribution
        means, sigma = getattr(dist, "means", None), getattr(dist, "sigma", None)
        log_density = getattr(dist, "log_prob", None)
        reference = (
            dm.get_data(self.reference_split)[0].float() if (log_density or means is not None) else None
        )
        out = toy2d_metrics(
            collected,
            means=means,
            sigma=sigma,
            on_support=getattr(dist, "on_support", None),
            log_density=log_density,
            reference=reference,
            quantile=self.quantile,
            hq_sigmas=self.hq_sigmas,
        )
        out["toy2d_protocol"] = {
            "n_samples": len(collected),
            "seed": self.seed,
            "dataset": dm.name,
            "sigma": sigma,
            "hq_sigmas": self.hq_sigmas,
            "reverse_kl": "sum_m p_m ln(M p_m), nearest mean (L2), all samples",
            "low_density_quantile": self.quantile,
            "reference_split": self.reference_split if reference is not None else None,
        }
        return out

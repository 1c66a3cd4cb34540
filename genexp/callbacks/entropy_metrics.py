"""The GEN paper's latent-normality test (§5.2): whitened leave-one-out kernel entropy of the codes,
beside the same estimator on N(0, I) samples of the same count."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.entropy import normal_entropy, whitened_entropy


class LatentEntropy(MetricCallback):
    """Encode ``n`` points of ``split``; report ``latent_entropy`` (nats), its ML bandwidth,
    ``latent_entropy_normal_ref`` (same estimator, ``n`` N(0, I) draws seeded by ``reference_seed``),
    ``latent_entropy_gap`` (ref - ours), the analytic N(0, I) entropy, the mean per-dimension code
    variance and norm of the code mean, and ``latent_stationary_var`` = 1 - h² for models with a
    KDE ``bandwidth`` (GEN). Needs ``encode``; memory grows as n², keep n <= ~6000.

    The N(0, I) reference is the yardstick of ``latent_entropy_gap``, so its ``reference_seed``
    (default 0) is a protocol value, not the run's seed (the codes are the first ``n`` points, so
    nothing here is drawn per run). ``seed`` is accepted and ignored (configs saved before issue
    #21 pass the run's seed).
    """

    default_name = "latent_entropy"

    def __init__(
        self,
        split: str = "train",
        n: int | None = 2000,
        reference_seed: int = 0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.split = split
        self.n = n
        self.reference_seed = int(reference_seed)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``encode`` and a datamodule."""
        if not has_capability(pl_module, "encode"):
            return f"{type(pl_module).__name__} has no encode(x)"
        if datamodule_of(trainer) is None:
            return "the trainer has no datamodule"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Codes of the split's first ``n`` points (eval mode)."""
        x, _ = datamodule_of(trainer).get_data(self.split, self.n)
        was_training = pl_module.training
        pl_module.eval()
        out = self.gather_rows(
            trainer, pl_module, x, None, lambda xb, _: {"z": pl_module.encode(xb).double()}
        )
        pl_module.train(was_training)
        return out["z"]

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """Entropies, the reference and the code moments."""
        z = collected
        n, dim = z.shape
        ent, h = whitened_entropy(z)
        gen = torch.Generator().manual_seed(self.reference_seed)
        ref, _ = whitened_entropy(torch.randn(n, dim, generator=gen, dtype=torch.float64))
        out: dict[str, Any] = {
            "latent_entropy": ent,
            "latent_entropy_bandwidth": h,
            "latent_entropy_normal_ref": ref,
            "latent_entropy_gap": ref - ent,
            "latent_entropy_normal_analytic": normal_entropy(dim),
            "latent_var_mean": float(z.var(0).mean()),
            "latent_mean_norm": float(z.mean(0).norm()),
        }
        bw = getattr(pl_module, "bandwidth", None)
        if isinstance(bw, torch.Tensor) and bw.numel() == 1 and torch.isfinite(bw):
            out["latent_stationary_var"] = 1.0 - float(bw) ** 2
        out["latent_entropy_protocol"] = {
            "split": self.split,
            "n": n,
            "reference_seed": self.reference_seed,
            "estimator": "ZCA-whitened LOO Gaussian KDE, ML fixed-point h (GEN §5.2)",
        }
        return out

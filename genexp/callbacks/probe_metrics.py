"""Linear-probe accuracy of frozen encoder means (thesis §M3)."""

from __future__ import annotations

from typing import Any

import lightning as L

from genexp.callbacks.clustering_metrics import labelled_split
from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.latent import linear_probe_accuracy


class LinearProbe(MetricCallback):
    """Softmax regression on ``encode(x)`` (the posterior mean), fitted on ``n_train`` points of
    ``train_split`` and scored on ``test_split``: ``linear_probe_acc`` (test),
    ``linear_probe_train_acc`` and ``linear_probe_protocol``.

    The probe is part of the measurement, so its ``probe_seed`` (default 0) is a protocol value,
    not the run's seed; the probe draws no samples, so the run's seed plays no part. ``seed`` is
    accepted and ignored (configs saved before issue #21 pass the run's seed)."""

    default_name = "linear_probe"

    def __init__(
        self,
        train_split: str = "train",
        test_split: str = "test",
        n_train: int | None = None,
        n_test: int | None = None,
        max_iter: int = 1000,
        probe_seed: int = 0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.train_split, self.test_split = train_split, test_split
        self.n_train, self.n_test = n_train, n_test
        self.max_iter = int(max_iter)
        self.probe_seed = int(probe_seed)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``encode`` and labels."""
        dm = datamodule_of(trainer)
        if not has_capability(pl_module, "encode"):
            return f"{type(pl_module).__name__} has no encode(x)"
        if dm is None or not dm.num_classes:
            return "the dataset has no class labels"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Codes and labels of both splits, gathered."""
        dm = datamodule_of(trainer)

        def codes(split: str, n: int | None) -> dict:
            x, y = labelled_split(dm, [split], n)
            return self.gather_rows(
                trainer,
                pl_module,
                x,
                y,
                lambda xb, yb: {"z": pl_module.encode(xb).double().flatten(1), "y": yb.long()},
            )

        return codes(self.train_split, self.n_train), codes(self.test_split, self.n_test)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """Accuracies and the protocol."""
        train, test = collected
        out: dict[str, Any] = linear_probe_accuracy(
            train["z"], train["y"], test["z"], test["y"], max_iter=self.max_iter, seed=self.probe_seed
        )
        out["linear_probe_protocol"] = {
            "train_split": self.train_split,
            "test_split": self.test_split,
            "n_train": len(train["y"]),
            "n_test": len(test["y"]),
            "classifier": "sklearn StandardScaler + LogisticRegression (multinomial)",
            "features": "encode(x) (posterior mean)",
            "probe_seed": self.probe_seed,
        }
        return out

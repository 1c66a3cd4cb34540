"""Anomaly detection: AUROC / AUPRC of ``model.anomaly_score(x)`` with held-out classes as outliers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L

from genexp.callbacks.clustering_metrics import labelled_split
from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.anomaly import anomaly_scores, outlier_labels


class AnomalyMetrics(MetricCallback):
    """``auroc`` and ``auprc`` (outliers = label 1, higher score = more anomalous; thesis §M4) on
    ``split``, plus ``anomaly_protocol`` (outlier classes, inlier/outlier counts).

    ``outlier_classes``: the classes that count as outliers; default the datamodule's
    ``outlier_classes`` attribute (the class it held out of training). A model whose score is a
    sum of parts (``anomaly_score_terms(x)``: name -> per-row part, e.g. LC-VaDE's IAS terms) also
    gets ``auroc_<name>`` / ``auprc_<name>`` of each part alone.
    """

    default_name = "anomaly"

    def __init__(
        self,
        outlier_classes: Sequence[int] | None = None,
        split: str = "test",
        n: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.outlier_classes = None if outlier_classes is None else [int(c) for c in outlier_classes]
        self.split = split
        self.n = n

    def _classes(self, dm: Any) -> list[int] | None:
        if self.outlier_classes is not None:
            return self.outlier_classes
        found = getattr(dm, "outlier_classes", None)
        return None if found is None else [int(c) for c in found]

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``anomaly_score``, labels and outlier classes."""
        dm = datamodule_of(trainer)
        if not has_capability(pl_module, "anomaly_score"):
            return f"{type(pl_module).__name__} has no anomaly_score(x)"
        if dm is None or not dm.num_classes:
            return "the dataset has no class labels"
        if not self._classes(dm):
            return (
                "no outlier classes: set metric.anomaly.outlier_classes=[k] "
                "(or a datamodule with outlier_classes)"
            )
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Scores and labels of the split, gathered."""
        x, y = labelled_split(datamodule_of(trainer), [self.split], self.n)
        with_terms = has_capability(pl_module, "anomaly_score_terms")

        def rows(xb: Any, yb: Any) -> dict[str, Any]:
            out = {"score": pl_module.anomaly_score(xb).double().reshape(-1), "y": yb.long()}
            if with_terms:
                terms = pl_module.anomaly_score_terms(xb)
                out.update({f"term_{k}": v.double().reshape(-1) for k, v in terms.items()})
            return out

        return self.gather_rows(trainer, pl_module, x, y, rows)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """AUROC, AUPRC and the protocol."""
        classes = self._classes(datamodule_of(trainer))
        is_out = outlier_labels(collected["y"], classes)
        out: dict[str, Any] = anomaly_scores(collected["score"], is_out)
        for key, values in collected.items():  # the score's parts, each scored alone
            if key.startswith("term_"):
                out.update({f"{k}_{key[5:]}": v for k, v in anomaly_scores(values, is_out).items()})
        out["anomaly_protocol"] = {
            "split": self.split,
            "outlier_classes": classes,
            "n_inliers": int((is_out == 0).sum()),
            "n_outliers": int(is_out.sum()),
            "positive": "outlier",
            "score": "model.anomaly_score (higher = more anomalous)",
        }
        return out

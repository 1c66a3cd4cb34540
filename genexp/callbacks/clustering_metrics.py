"""Clustering accuracy (Hungarian and purity), NMI and ARI of ``model.cluster(x)`` against labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.clustering import clustering_scores


def labelled_split(dm: Any, splits: Sequence[str], n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The concatenated labelled (x, y) of ``splits`` (of the first ``n`` of each); rows whose label
    is negative (unlabelled: STL-10's extra images, ``dataset.labelled=n``) are left out; raises if
    labels are missing."""
    xs, ys = [], []
    for split in splits:
        x, y = dm.get_data(split, n)
        if y is None:
            raise ValueError(f"split {split!r} of {dm.name!r} has no labels")
        keep = y >= 0
        if not bool(keep.all()):
            x, y = x[keep], y[keep]
        xs.append(x)
        ys.append(y)
    if sum(len(y) for y in ys) == 0:
        raise ValueError(f"splits {list(splits)} of {dm.name!r} have no labelled rows")
    return torch.cat(xs), torch.cat(ys)


class ClusteringMetrics(MetricCallback):
    """``cluster_acc`` (Hungarian one-to-one), ``cluster_purity`` (many-to-one: the MPCC thesis'
    ACC), ``cluster_nmi``, ``cluster_ari`` and ``cluster_smallest_frac`` (the share of the data in
    the smallest of the model's ``num_clusters``, else the dataset's classes, clusters) on
    ``splits`` (default the test split; the MPCC protocol clusters train+test), plus
    ``clustering_protocol``. Needs ``model.cluster(x)``."""

    default_name = "clustering"

    def __init__(self, splits: Sequence[str] = ("test",), n: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.splits = [splits] if isinstance(splits, str) else list(splits)
        self.n = n

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs ``cluster`` and a labelled dataset."""
        dm = datamodule_of(trainer)
        if not has_capability(pl_module, "cluster"):
            return f"{type(pl_module).__name__} has no cluster(x)"
        if dm is None or not dm.num_classes:
            return "the dataset has no class labels"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Cluster indices and labels of the evaluated splits, gathered."""
        x, y = labelled_split(datamodule_of(trainer), self.splits, self.n)
        return self.gather_rows(
            trainer,
            pl_module,
            x,
            y,
            lambda xb, yb: {"pred": pl_module.cluster(xb).long().reshape(-1), "y": yb.long()},
        )

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The four scores and the protocol."""
        out: dict[str, Any] = clustering_scores(collected["y"], collected["pred"])
        k = max(
            int(getattr(pl_module, "num_clusters", 0) or datamodule_of(trainer).num_classes),
            int(collected["pred"].max()) + 1,
        )
        smallest = torch.bincount(collected["pred"], minlength=k).min()
        out["cluster_smallest_frac"] = float(smallest) / len(collected["pred"])
        out["clustering_protocol"] = {
            "splits": self.splits,
            "n": len(collected["y"]),
            "clusters_used": int(collected["pred"].unique().numel()),
            "num_classes": int(datamodule_of(trainer).num_classes),
        }
        return out

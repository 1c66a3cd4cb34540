"""Clustering scores during training, on a fixed labelled subset: the points of a purity-vs-iteration
curve (``curve`` rows of ``history.jsonl``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import lightning as L
import torch

from genexp.callbacks.clustering_metrics import ClusteringMetrics, labelled_split
from genexp.callbacks.history import append_history_row
from genexp.callbacks.metric_base import datamodule_of
from genexp.constraints import NonNegativeInt, PositiveInt
from genexp.run_record import run_record

CURVE_STAGE = "curve"


def iteration_of(trainer: L.Trainer, pl_module: L.LightningModule) -> int:
    """The model's own iteration count (adversarial models: one per G update), else optimizer steps."""
    return int(getattr(pl_module, "iteration", trainer.global_step))


class ClusteringCurve(ClusteringMetrics):
    """Every ``every_n_iterations`` training iterations (and once when training ends), the scores of
    :class:`ClusteringMetrics` (``cluster_purity``, ``cluster_acc``, NMI, ARI, smallest cluster)
    on ``n`` labelled points of ``splits`` drawn once with ``subset_seed`` (a protocol value, the
    same for every run), with the model in eval mode. Each check is recorded as
    ``curve/<key>`` (loggers; the last one in ``metrics.json``) and appended to ``history.jsonl``
    as a ``curve`` row that also carries ``iteration``. Iterations are the model's ``iteration``
    (MPCC, AIM: one per G update) or optimizer steps."""

    default_name = "clustering_curve"

    def __init__(
        self,
        splits: Sequence[str] = ("train",),
        n: Optional[PositiveInt] = 5000,
        every_n_iterations: NonNegativeInt = 500,
        subset_seed: int = 0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("at_test", False)
        super().__init__(splits=splits, n=None, **kwargs)
        if every_n_iterations < 0:
            raise ValueError(f"every_n_iterations must be >= 0, got {every_n_iterations}")
        self.subset_n = n
        self.every_n_iterations = int(every_n_iterations)
        self.subset_seed = int(subset_seed)
        self._subset: Optional[tuple[torch.Tensor, torch.Tensor]] = None
        self._last_iteration = -1

    def subset(self, trainer: L.Trainer) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed (x, y) subset (drawn once, without replacement, from all points of ``splits``)."""
        if self._subset is None:
            x, y = labelled_split(datamodule_of(trainer), self.splits, None)
            if self.subset_n is not None and self.subset_n < len(x):
                gen = torch.Generator().manual_seed(self.subset_seed)
                pick = torch.randperm(len(x), generator=gen)[: self.subset_n].sort().values
                x, y = x[pick], y[pick]
            self._subset = (x, y)
        return self._subset

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Cluster indices and labels of the subset, in eval mode (every submodule's mode is
        restored afterwards, so e.g. spectral norm's power iteration does not advance)."""
        x, y = self.subset(trainer)
        modes = [(m, m.training) for m in pl_module.modules()]
        pl_module.eval()
        try:
            return self.gather_rows(
                trainer,
                pl_module,
                x,
                y,
                lambda xb, yb: {"pred": pl_module.cluster(xb).long().reshape(-1), "y": yb.long()},
            )
        finally:
            for module, mode in modes:
                module.training = mode

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The clustering scores and the protocol (subset size and seed)."""
        out = super().score(collected, trainer, pl_module)
        out.pop("clustering_protocol", None)
        out["iteration"] = iteration_of(trainer, pl_module)
        return out

    def check(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """One point of the curve (skipped if this iteration already has one)."""
        iteration = iteration_of(trainer, pl_module)
        if iteration == self._last_iteration:
            return
        self._last_iteration = iteration
        values = self.run(trainer, pl_module, CURVE_STAGE)
        if values and trainer.is_global_zero:
            append_history_row(trainer, CURVE_STAGE, values)
            protocol = {
                "splits": self.splits,
                "n": len(self.subset(trainer)[0]),
                "subset_seed": self.subset_seed,
                "every_n_iterations": self.every_n_iterations,
            }
            run_record(trainer).record(trainer, {f"{CURVE_STAGE}/{self.name}_protocol": protocol})

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """A point every ``every_n_iterations`` iterations."""
        n, iteration = self.every_n_iterations, iteration_of(trainer, pl_module)
        if n and iteration > 0 and iteration % n == 0:
            self.check(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The last point, at the end of training."""
        self.check(trainer, pl_module)

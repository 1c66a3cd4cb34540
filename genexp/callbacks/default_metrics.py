"""``metric=default``: pick the metric callbacks that fit the dataset and the model."""

from __future__ import annotations

import logging
from typing import Any, Literal, Union

import lightning as L

from genexp.callbacks.anomaly_metrics import AnomalyMetrics
from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.clustering_metrics import ClusteringMetrics
from genexp.callbacks.inception_metrics import InceptionMetrics, weights_status
from genexp.callbacks.latent_metrics import LatentDiagnostics
from genexp.callbacks.lightcurve_metrics import LightCurveMetrics
from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.callbacks.probe_metrics import LinearProbe
from genexp.callbacks.reconstruction_metrics import ReconstructionMetrics
from genexp.callbacks.toy2d_metrics import Toy2DMetrics
from genexp.constraints import NonNegativeInt, PositiveInt

log = logging.getLogger(__name__)


def select_metrics(
    dm: Any,
    model: Any,
    on_gpu: bool,
    weights_path: str | None,
    seed: int,
    cache_dir: str | None,
    n_samples: int,
    inception: Any = "auto",
    every_n_epochs: int = 0,
    classifier_seed: int = 0,
) -> list[MetricCallback]:
    """The metric callbacks that fit ``dm`` (kind, name, labels) and ``model`` (capabilities).

    - 2-D points: :class:`Toy2DMetrics`.
    - 1-channel labelled images: ``fd_classifier``/``is_classifier`` with precision/recall/
      density/coverage and FD∞ from the same classifier features (``*_classifier`` keys);
      Stacked-MNIST also mode coverage. Inception FID/KID/precision/recall/density/coverage/FID∞
      when ``inception`` is true, or ``auto`` on a GPU with usable weights (on this CPU 10k images
      take about an hour; see docs/benchmarks.md).
    - ``cluster`` + labels: clustering; ``anomaly_score`` + outlier classes: anomaly;
      ``encode_distribution``: latent diagnostics; ``encode`` + labels: linear probe;
      ``reconstruct``: reconstruction error; light curves with ``decode_at``: decoder diagnostics.

    ``seed`` only draws generated samples; the domain classifier has its own ``classifier_seed``
    (a protocol value) and the linear probe draws nothing.
    """
    common = {"every_n_epochs": every_n_epochs}
    kind, labelled = getattr(dm, "kind", None), bool(getattr(dm, "num_classes", None))
    can_sample = has_capability(model, "sample")
    chosen: list[MetricCallback] = []
    if kind == "points" and tuple(dm.shape) == (2,) and can_sample:
        chosen.append(Toy2DMetrics(seed=seed, **common))
    if kind == "image" and can_sample:
        stacked = "stacked" in str(dm.name).lower()
        if labelled and (dm.shape[0] == 1 or stacked):
            metrics = ["fd", "is", "prdc", "fd_inf"] + (["modes"] if stacked else [])
            chosen.append(
                DomainClassifierMetrics(
                    metrics=metrics,
                    n_samples=n_samples,
                    seed=seed,
                    cache_dir=cache_dir,
                    classifier_seed=classifier_seed,
                    name="fd_classifier",
                    **common,
                )
            )
        use_inception = inception is True or (
            inception == "auto" and on_gpu and weights_status(weights_path)[0] is None
        )
        if use_inception:
            chosen.append(
                InceptionMetrics(
                    metrics=["fid", "kid", "prdc", "fd_inf"],
                    weights_path=weights_path,
                    n_samples=n_samples,
                    seed=seed,
                    cache_dir=cache_dir,
                    name="fid",
                    **common,
                )
            )
    if labelled and has_capability(model, "cluster"):
        chosen.append(ClusteringMetrics(**common))
    if labelled and has_capability(model, "anomaly_score") and getattr(dm, "outlier_classes", None):
        chosen.append(AnomalyMetrics(**common))
    if has_capability(model, "encode_distribution"):
        chosen.append(LatentDiagnostics(seed=seed, **common))
    if labelled and has_capability(model, "encode"):
        chosen.append(LinearProbe(**common))
    if has_capability(model, "reconstruct"):
        chosen.append(ReconstructionMetrics(**common))
    if kind == "sequence" and has_capability(model, "decode_at"):
        chosen.append(LightCurveMetrics(**common))
    return chosen


class DefaultMetrics(L.Callback):
    """Chooses its metric callbacks with :func:`select_metrics` when the run is set up, then
    forwards the validation-end and test-end hooks to them. The choice is logged once.

    ``inception``: ``auto`` (GPU + usable weights), ``true`` or ``false``. ``seed`` draws the
    generated samples; ``classifier_seed`` is the domain classifier's own (protocol) seed.
    """

    def __init__(
        self,
        weights_path: str | None = None,
        cache_dir: str | None = None,
        seed: int = 0,
        n_samples: PositiveInt = 10000,
        inception: Union[Literal["auto"], bool] = "auto",
        every_n_epochs: NonNegativeInt = 0,
        classifier_seed: int = 0,
    ) -> None:
        super().__init__()
        self.kwargs = {
            "weights_path": weights_path,
            "cache_dir": cache_dir,
            "seed": int(seed),
            "n_samples": int(n_samples),
            "inception": inception,
            "every_n_epochs": int(every_n_epochs),
            "classifier_seed": int(classifier_seed),
        }
        self.children: list[MetricCallback] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Select the metrics (once)."""
        if self.children is not None:
            return
        dm = datamodule_of(trainer)
        if dm is None:
            self.children = []
            return
        on_gpu = trainer.strategy.root_device.type != "cpu"
        self.children = select_metrics(dm, pl_module, on_gpu, **self.kwargs)
        if trainer.is_global_zero:
            names = [f"{c.name} ({type(c).__name__})" for c in self.children] or ["none"]
            log.info("metric=default chose for %s: %s", getattr(dm, "name", "?"), ", ".join(names))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Forward to the chosen metrics."""
        for child in self.children or []:
            child.on_validation_epoch_end(trainer, pl_module)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Forward to the chosen metrics."""
        for child in self.children or []:
            child.on_test_epoch_end(trainer, pl_module)

"""Domain-classifier metrics: ``fd_classifier``, ``is_classifier`` and classifier mode coverage
(Stacked-MNIST: modes of 1000 and reverse KL in log10, PGMGAN §6)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L

from genexp.callbacks.feature_metrics import FeatureMetrics
from genexp.callbacks.metric_base import datamodule_of
from genexp.metrics import domain_classifier as dc
from genexp.metrics import fidelity
from genexp.metrics.fidelity import ExtractorSpec

KNOWN = ("fd", "is", "modes")
log = logging.getLogger(__name__)


class DomainClassifierMetrics(FeatureMetrics):
    """Scores in the feature/logit space of a small classifier genexp trains on the dataset's
    labelled train split (cached in ``<cache_dir>/domain_classifier/``).

    ``metrics`` among ``fd`` (key ``fd_classifier``: Fréchet distance of the pre-logit features),
    ``is`` (``is_classifier``, ``is_classifier_std``) and ``modes`` (``modes``, ``modes_total``,
    ``reverse_kl_log10`` of the predicted-class histogram). Also recorded:
    ``domain_classifier_test_acc`` and ``<name>_protocol``. These are never Inception numbers.

    ``per_channel`` (default: auto, true for datasets whose name contains "stacked") classifies
    each channel with one digit classifier and combines them (1000 Stacked-MNIST modes).
    The classifier: ``arch`` (``mlp``: PGMGAN's MNIST MLP; ``cnn``), ``hidden``, ``epochs``,
    ``max_train`` digits/images, ``lr``; trained once on rank 0, then loaded by every rank.
    """

    default_name = "fd_classifier"
    needs_reference_for = frozenset({"fd"})

    def __init__(self, metrics: Iterable[str] = ("fd", "is"), per_channel: bool | None = None,
                 arch: str = "mlp", hidden: int = 256, epochs: int = 10, max_train: int | None = 60000,
                 lr: float = 1e-3, classifier_batch_size: int = 128, reference_split: str = "test",
                 **kwargs: Any) -> None:
        metrics = list(metrics)
        unknown = sorted(set(metrics) - set(KNOWN))
        if unknown or not metrics:
            raise ValueError(f"unknown domain-classifier metrics {unknown or metrics}; choose from {list(KNOWN)}")
        super().__init__(metrics, reference_split=reference_split, **kwargs)
        self.per_channel = per_channel
        self.classifier_kwargs = {"arch": arch, "hidden": int(hidden), "epochs": int(epochs), "max_train": max_train,
                                  "lr": float(lr), "batch_size": int(classifier_batch_size)}
        self._info: dict[str, Any] = {}

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs images, a sampler and a labelled dataset."""
        reason = self.image_skip_reason(trainer, pl_module)
        if reason is not None:
            return reason
        dm = datamodule_of(trainer)
        if not dm.num_classes:
            return f"dataset {dm.name!r} has no class labels to train a domain classifier on"
        return None

    def _per_channel(self, dm: Any) -> bool:
        return self.per_channel if self.per_channel is not None else "stacked" in str(dm.name).lower()

    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """Load the cached classifier, training it first (rank 0; the others wait at a barrier)."""
        dm = datamodule_of(trainer)
        config = dc.classifier_config(dm.shape, dm.num_classes, self._per_channel(dm), seed=self.seed,
                                      **self.classifier_kwargs)
        x, y = dm.get_data("train", None)
        if config["max_train"]:
            n_images = -(-config["max_train"] // (dm.shape[0] if config["per_channel"] else 1))
            x, y = x[:n_images], y[:n_images]
        if y is None:
            raise ValueError(f"dataset {dm.name!r} train split has no labels")
        cache_dir = self.cache_dir or Path(trainer.default_root_dir) / ".cache"
        path = dc.classifier_cache_path(cache_dir, dm.name, config, fidelity.data_fingerprint(x))
        if trainer.is_global_zero and not path.is_file():
            log.info("training the %s domain classifier for %s (%s)", dm.name, self.name, path)
            info = dc.fit_and_save(path, config, (x, y), dm.get_data("test", 10000), dm.name)
            log.info("domain classifier: test accuracy %.4f, %s s", info["test_acc"], info["train_seconds"])
        trainer.strategy.barrier()
        self._info = dc.load_classifier(path)[1]
        return dc.classifier_spec(path, config)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """``fd_classifier``, ``is_classifier``, mode coverage, classifier accuracy and protocol."""
        spec, gen, ref = collected
        out: dict[str, Any] = {}
        wanted = {"fd": "fid", "is": "is"}
        scores = fidelity.fidelity_scores(gen, ref or gen, spec, [wanted[m] for m in self.active if m in wanted],
                                          seed=self.seed, **self.score_kwargs)
        if "fid" in scores:
            out["fd_classifier"] = scores["fid"]
        if "is" in scores:
            out["is_classifier"], out["is_classifier_std"] = scores["is"], scores["is_std"]
        if "modes" in self.active:
            out.update(dc.classifier_modes(gen[spec.logits_layer]))
        out["domain_classifier_test_acc"] = self._info.get("test_acc")
        proto = self.protocol(spec, ref)
        proto.update(classifier_test_acc=self._info.get("test_acc"), classifier_n_train=self._info.get("n_train"))
        out[f"{self.name}_protocol"] = proto
        return out

"""Domain-classifier metrics: ``fd_classifier``, ``is_classifier`` and classifier mode coverage
(Stacked-MNIST: modes of 1000 and reverse KL in log10, PGMGAN §6)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
from torch import Tensor

from genexp.callbacks.feature_metrics import FeatureMetrics
from genexp.callbacks.metric_base import datamodule_of
from genexp.metrics import classifier_extractor as ce
from genexp.metrics import domain_classifier as dc
from genexp.metrics import reference_cache
from genexp.metrics.fidelity import ExtractorSpec

KNOWN = ("fd", "is", "modes", "prdc", "fd_inf")
TO_FIDELITY = {"fd": "fid", "is": "is", "prdc": "prdc", "fd_inf": "fd_inf"}
log = logging.getLogger(__name__)

Labelled = tuple[Tensor, Tensor]


def classifier_data(
    dm: Any, per_channel: bool, max_train: int | None, n_test: int = 10000
) -> tuple[Labelled, Labelled, str]:
    """``(train, test, what)``: the labelled images the domain classifier learns from and is tested
    on, decoded to the model's value range, and a description of them for the protocol.

    They do not depend on the run's seed or on the run's split options (``val_size``, ``n_train``,
    ``include_test_in_train``), so every run on a dataset gets the same classifier:

    - the datamodule's ``classifier_splits()`` if it has one (Stacked-MNIST: the single MNIST
      digits one channel shows, whatever triples the seed draws);
    - else its ``official_splits()`` (image datamodules: the official train and test splits);
    - else its ``train`` and ``test`` splits.

    A dataset whose official split itself is drawn from the seed (``digits``) still gets one
    classifier per split seed: its data fingerprint, part of the cache key, differs.
    """
    own = getattr(dm, "classifier_splits", None)
    if callable(own):
        splits, what, decode = own(), "classifier_splits", (lambda x: x)
    elif callable(getattr(dm, "official_splits", None)):
        splits, what, decode = dm.official_splits(), "official train/test splits", dm.decode_batch
    else:
        splits = {s: dm.split(s) for s in ("train", "test")}
        what, decode = "train/test splits", dm.decode_batch
    (x, y), (xt, yt) = splits["train"], splits["test"]
    if y is None or yt is None:
        raise ValueError(f"dataset {dm.name!r} has no labels in its {what} to train a domain classifier on")
    if bool((y < 0).any()):  # unlabelled rows (STL-10's unlabeled part: label -1)
        x, y = x[y >= 0], y[y >= 0]
    if max_train:
        n = math.ceil(max_train / (x.shape[1] if per_channel else 1))  # max_train counts digits per channel
        x, y = x[:n], y[:n]
    return (decode(x), y), (decode(xt[:n_test]), yt[:n_test]), what


class DomainClassifierMetrics(FeatureMetrics):
    """Scores in the feature/logit space of a small classifier genexp trains on the dataset's
    labelled official train split (cached in ``<cache_dir>/domain_classifier/``).

    ``metrics`` among ``fd`` (key ``fd_classifier``: Fréchet distance of the pre-logit features),
    ``is`` (``is_classifier``, ``is_classifier_std``), ``modes`` (``modes``, ``modes_total``,
    ``reverse_kl_log10`` of the predicted-class histogram), ``prdc`` (``precision_classifier``,
    ``recall_classifier``, ``density_classifier``, ``coverage_classifier``) and ``fd_inf``
    (``fd_inf_classifier``, ``fd_inf_classifier_slope``, ``fd_inf_classifier_points``). Also recorded:
    ``domain_classifier_test_acc`` and ``<name>_protocol``. These are never Inception numbers.

    ``per_channel`` (default: auto, true for datasets whose name contains "stacked") classifies
    each channel with one digit classifier and combines them (1000 Stacked-MNIST modes).
    The classifier: ``arch`` (``mlp``: PGMGAN's MNIST MLP; ``cnn``), ``hidden``, ``epochs``,
    ``max_train`` digits/images, ``lr``, and ``classifier_seed`` (default 0), trained on the data
    of :func:`classifier_data`; trained once (on rank 0; concurrent jobs wait on a lock), cached,
    and loaded by every rank, run, evaluation and sweep job with the same recipe.

    The classifier is part of the metric's protocol, like Inception's weights: ``classifier_seed``
    is its own protocol value, never the run's ``seed``, which only chooses the generated samples
    (and the IS split shuffle). ``<name>_protocol`` records the classifier's file, sha256, seed,
    recipe, training data and test accuracy.
    """

    default_name = "fd_classifier"
    needs_reference_for = frozenset({"fd", "prdc", "fd_inf"})

    def __init__(
        self,
        metrics: Iterable[str] = ("fd", "is"),
        per_channel: bool | None = None,
        arch: str = "mlp",
        hidden: int = 256,
        epochs: int = 10,
        max_train: int | None = 60000,
        lr: float = 1e-3,
        classifier_batch_size: int = 128,
        classifier_seed: int = 0,
        reference_split: str = "test",
        **kwargs: Any,
    ) -> None:
        metrics = list(metrics)
        unknown = sorted(set(metrics) - set(KNOWN))
        if unknown or not metrics:
            raise ValueError(
                f"unknown domain-classifier metrics {unknown or metrics}; choose from {list(KNOWN)}"
            )
        super().__init__(metrics, reference_split=reference_split, **kwargs)
        self.per_channel = per_channel
        self.classifier_kwargs = {
            "arch": arch,
            "hidden": int(hidden),
            "epochs": int(epochs),
            "max_train": max_train,
            "lr": float(lr),
            "batch_size": int(classifier_batch_size),
        }
        self.classifier_seed = int(classifier_seed)
        self._info: dict[str, Any] = {}
        self._classifier: dict[str, Any] = {}

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

    def classifier_path(self, trainer: L.Trainer) -> tuple[Path, dict[str, Any], Labelled, Labelled, str]:
        """``(cache file, config, train, test, what)`` of this metric's classifier on the trainer's
        dataset. Depends on the dataset and the recipe (with ``classifier_seed``), never on ``seed``."""
        dm = datamodule_of(trainer)
        config = ce.classifier_config(
            dm.shape,
            dm.num_classes,
            self._per_channel(dm),
            seed=self.classifier_seed,
            **self.classifier_kwargs,
        )
        train, test, what = classifier_data(dm, config["per_channel"], config["max_train"])
        cache_dir = self.cache_dir or Path(trainer.default_root_dir) / ".cache"
        path = ce.classifier_cache_path(
            cache_dir, dm.name, config, reference_cache.data_fingerprint(train[0])
        )
        return path, config, train, test, what

    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """Load the cached classifier, training it first (rank 0; the others wait at a barrier)."""
        dm = datamodule_of(trainer)
        path, config, train, test, what = self.classifier_path(trainer)
        if trainer.is_global_zero and not path.is_file():
            log.info(
                "training the %s domain classifier for %s (seed %d, %s): %s",
                dm.name,
                self.name,
                config["seed"],
                what,
                path,
            )
            trained, info = ce.ensure_classifier(path, config, train, test, dm.name, what)
            if trained:
                log.info(
                    "domain classifier: test accuracy %.4f, %s s", info["test_acc"], info["train_seconds"]
                )
        trainer.strategy.barrier()
        self._info = ce.load_classifier(path)[1]
        self._classifier = {"path": path, "config": config}
        return ce.classifier_spec(path, config)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """``fd_classifier``, ``is_classifier``, mode coverage, classifier accuracy and protocol."""
        spec, gen, ref = collected
        wanted = [TO_FIDELITY[m] for m in self.active if m in TO_FIDELITY]
        out = self.scores(trainer, spec, (gen, ref), wanted, tag="_classifier")
        if "modes" in self.active:
            out.update(dc.classifier_modes(gen[spec.logits_layer]))
        out["domain_classifier_test_acc"] = self._info.get("test_acc")
        proto = self.protocol(spec, ref)
        proto.update(self.classifier_record())
        out[f"{self.name}_protocol"] = proto
        return out

    def classifier_record(self) -> dict[str, Any]:
        """The loaded classifier's part of the protocol: its file, sha256, seed, recipe, accuracy."""
        return ce.classifier_protocol(self._classifier["path"], self._classifier["config"], self._info)

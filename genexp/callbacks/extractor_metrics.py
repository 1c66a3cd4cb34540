"""Feature-space metrics over any registered extractor (:mod:`genexp.metrics.extractors`):
``metric=prdc`` (precision/recall/density/coverage), ``metric=fd_inf`` (FD∞), and FD/KID/PR,
with ``metric.<name>.extractor=`` one of ``inception``, ``domain_classifier``, ``dinov2_vitb14``,
``dinov2_vitl14``, ``clip_vitb32`` (or ``tiny`` in tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import lightning as L
from annotated_types import Predicate

from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.feature_metrics import FeatureMetrics
from genexp.constraints import Described
from genexp.metrics import extractors
from genexp.metrics.fidelity import ExtractorSpec
from genexp.metrics.weight_files import file_sha256

KNOWN = ("fd", "fd_inf", "kid", "prd", "prdc")
TO_FIDELITY = {"fd": "fid", "fd_inf": "fd_inf", "kid": "kid", "prd": "prd", "prdc": "prdc"}
RECIPE = (
    "per_channel",
    "arch",
    "hidden",
    "epochs",
    "max_train",
    "lr",
    "classifier_batch_size",
    "classifier_seed",
)
ExtractorName = Annotated[
    str,
    Predicate(lambda name: name in extractors.REGISTRY),
    Described(f"a registered feature extractor: {', '.join(sorted(extractors.REGISTRY))}"),
]


class ExtractorMetrics(FeatureMetrics):
    """``metrics`` among ``fd`` (``fd<tag>``; Inception: ``fid``), ``fd_inf`` (``fd_inf<tag>``,
    ``..._slope``, ``..._points``; plot ``samples/<name>_fd_vs_n.png``), ``kid`` (``kid<tag>``,
    ``kid<tag>_std``), ``prd`` (``precision<tag>``, ``recall<tag>``, ``f_score<tag>``) and ``prdc``
    (``precision<tag>``, ``recall<tag>``, ``density<tag>``, ``coverage<tag>``), in the feature space
    of the registered extractor ``extractor``. ``<tag>``: none for ``inception``, ``_classifier``
    for ``domain_classifier``, ``_<extractor>`` otherwise. Plus ``<name>_protocol``.

    Weights: ``weights_path`` (default ``<assets_dir>/<the extractor's file>``), checked against
    ``weights_sha256`` if given, else the registry's sha256 where it pins one. A missing,
    mismatched or unloadable file skips the metric with one line naming the file expected and its
    sha256. ``domain_classifier`` trains (once) and caches genexp's classifier of the dataset,
    with the recipe in ``classifier`` (the options of :class:`DomainClassifierMetrics`).
    """

    default_name = "prdc"
    needs_reference_for = frozenset(KNOWN)

    def __init__(
        self,
        metrics: Iterable[str] = ("prdc",),
        extractor: ExtractorName = "inception",
        weights_path: str | None = None,
        weights_sha256: str | None = None,
        assets_dir: str | None = None,
        classifier: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        metrics = list(metrics)
        unknown = sorted(set(metrics) - set(KNOWN))
        if unknown or not metrics:
            raise ValueError(f"unknown feature metrics {unknown or metrics}; choose from {list(KNOWN)}")
        self.entry = extractors.get_extractor(extractor)
        super().__init__(metrics, **kwargs)
        self.weights_sha256 = weights_sha256.lower() if weights_sha256 else None
        file = self.entry.weights_file
        default = str(Path(assets_dir) / file) if assets_dir and file else None
        self.weights_path = str(weights_path) if weights_path else default
        self.classifier: DomainClassifierMetrics | None = None
        recipe = dict(classifier or {})
        unknown = sorted(set(recipe) - set(RECIPE))
        if unknown:
            raise ValueError(f"unknown classifier options {unknown}; choose from {list(RECIPE)}")
        if self.entry.trained_by_genexp:
            self.classifier = DomainClassifierMetrics(
                metrics=["fd"], cache_dir=self.cache_dir, name=self.name, **recipe
            )

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """No images/sampler; for the classifier, no labels; else weights missing, not matching
        their sha256 or not loading (the extractor is built here, once, and kept for ``collect``)."""
        reason = self.image_skip_reason(trainer, pl_module)
        if reason is not None:
            return reason
        if self.classifier is not None:
            return self.classifier.skip_reason(trainer, pl_module)
        if self.entry.needs_weights:
            problem = extractors.weights_problem(
                self.entry, self.weights_path, self.weights_sha256, self.name
            )
            if problem is not None:
                return problem
        spec = self.entry.spec(self.weights_path)
        try:
            self._get_extractor(spec, spec.layers(True), pl_module.device)
        except Exception as err:  # noqa: BLE001 - any file that does not build the network
            return extractors.load_problem(self.entry, self.weights_path, err, self.weights_sha256)
        return None

    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """The registry's spec with the configured weights (or the trained domain classifier)."""
        if self.classifier is not None:
            return self.classifier.extractor_spec(trainer, pl_module)
        return self.entry.spec(self.weights_path)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The requested scores, keyed with the extractor's tag, and the protocol."""
        spec, gen, ref = collected
        wanted = [TO_FIDELITY[m] for m in self.active]
        out = self.scores(trainer, spec, (gen, ref), wanted, tag=self.entry.key_tag)
        proto = self.protocol(spec, ref)
        proto.update(extractor=self.entry.key, extractor_input=self.entry.input_protocol())
        if self.classifier is not None:
            proto.update(self.classifier.classifier_record())
        elif spec.weights_path:
            proto.update(
                weights_sha256=file_sha256(spec.weights_path), weights_expected=self.entry.weights_file
            )
        out[f"{self.name}_protocol"] = proto
        return out

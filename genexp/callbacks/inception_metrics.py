"""FID, KID, precision/recall and IS with torch-fidelity's Inception network and offline weights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lightning as L

from genexp.callbacks.feature_metrics import FeatureMetrics
from genexp.metrics import fidelity, full_inception, weight_files
from genexp.metrics.fidelity import ExtractorSpec

KNOWN = ("fid", "kid", "prd", "is", "prdc", "fd_inf")
_WEIGHTS_MEMO: dict[str, tuple[str | None, bool]] = {}


def weights_status(path: str | None) -> tuple[str | None, bool]:
    """(problem or None, has logits) for an Inception weights file, memoised per path and mtime."""
    import os

    key = f"{path}:{os.path.getmtime(path) if path and os.path.isfile(path) else None}"
    if key not in _WEIGHTS_MEMO:
        problem = weight_files.inception_weights_problem(path)
        _WEIGHTS_MEMO[key] = (problem, problem is None and weight_files.weights_have_logits(path))
    return _WEIGHTS_MEMO[key]


class InceptionMetrics(FeatureMetrics):
    """``metrics`` among ``fid`` (key ``fid``), ``kid`` (``kid``, ``kid_std``), ``prd``
    (``precision``, ``recall``, ``f_score``), ``is`` (``is``, ``is_std``), ``prdc`` (``precision``,
    ``recall``, ``density``, ``coverage``) and ``fd_inf`` (``fid_inf``, ``fid_inf_slope``,
    ``fid_inf_points``; plot ``samples/<name>_fd_vs_n.png``), with the Inception weights at
    ``weights_path``, plus ``<name>_protocol``.

    Without usable weights the callback logs why, once, and records nothing. IS is refused (and
    the others still run) when the weights have no logits layer, like the offline file ``make
    assets`` converts, whose ``fc`` is zero: the score would be 1 whatever the images. The refusal
    is one line saying how to get torch-fidelity's full weights (:mod:`genexp.metrics.full_inception`).
    ``extractor="tiny"`` swaps in the small test extractor (:class:`TinyFeatureExtractor`).
    """

    default_name = "fid"
    needs_reference_for = frozenset({"fid", "kid", "prd", "prdc", "fd_inf"})

    def __init__(
        self,
        metrics: Iterable[str] = ("fid",),
        weights_path: str | None = None,
        extractor: str = "inception",
        **kwargs: Any,
    ) -> None:
        metrics = list(metrics)
        unknown = sorted(set(metrics) - set(KNOWN))
        if unknown or not metrics:
            raise ValueError(f"unknown Inception metrics {unknown or metrics}; choose from {list(KNOWN)}")
        if extractor not in ("inception", "tiny"):
            raise ValueError(f"extractor must be 'inception' or 'tiny', got {extractor!r}")
        super().__init__(metrics, **kwargs)
        self.weights_path = str(weights_path) if weights_path else None
        self.extractor = extractor

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """No images/sampler, or no usable weights; drops IS (with a warning) if the weights lack
        logits, or refuses with that one line when IS is all that was asked."""
        reason = self.image_skip_reason(trainer, pl_module)
        if reason is not None or self.extractor == "tiny":
            return reason
        problem, has_logits = weights_status(self.weights_path)
        if problem is not None:
            return full_inception.is_refusal(self.weights_path, problem) if "is" in self.metrics else problem
        self.active = list(self.metrics)
        if "is" in self.active and not has_logits:
            refusal = full_inception.is_refusal(self.weights_path)
            if self.active == ["is"]:
                return refusal
            self.warn_once(trainer, f"{refusal} (FID/KID/precision-recall are unaffected)")
            self.active.remove("is")
        return None

    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """torch-fidelity's Inception with the configured weights (or the tiny test extractor)."""
        return (
            fidelity.tiny_spec() if self.extractor == "tiny" else fidelity.inception_spec(self.weights_path)
        )

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The requested scores and the protocol."""
        spec, gen, ref = collected
        out = self.scores(trainer, spec, (gen, ref), self.active)
        out[f"{self.name}_protocol"] = self.protocol(spec, ref)
        return out

"""FID, KID, precision/recall and IS with torch-fidelity's Inception network and offline weights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lightning as L

from genexp.callbacks.feature_metrics import FeatureMetrics
from genexp.metrics import fidelity, weight_files
from genexp.metrics.fidelity import ExtractorSpec

KNOWN = ("fid", "kid", "prd", "is")
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
    (``precision``, ``recall``, ``f_score``) and ``is`` (``is``, ``is_std``), with the Inception
    weights at ``weights_path``, plus ``<name>_protocol``.

    Without usable weights the callback logs why, once, and records nothing. IS is refused (and
    the others still run) when the weights have no logits layer, like the offline file ``make
    assets`` converts, whose ``fc`` is zero: the score would be 1 whatever the images.
    ``extractor="tiny"`` swaps in the small test extractor (:class:`TinyFeatureExtractor`).
    """

    default_name = "fid"
    needs_reference_for = frozenset({"fid", "kid", "prd"})

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
        """No images/sampler, or no usable weights; drops IS (with a warning) if the weights lack logits."""
        reason = self.image_skip_reason(trainer, pl_module)
        if reason is not None or self.extractor == "tiny":
            return reason
        problem, has_logits = weights_status(self.weights_path)
        if problem is not None:
            return problem
        self.active = list(self.metrics)
        if "is" in self.active and not has_logits:
            self.warn_once(
                trainer,
                f"IS refused: {self.weights_path} has no logits layer (its fc is zero or absent: "
                "converted FID-only weights), so the Inception Score would be meaningless; "
                "FID/KID/precision-recall are unaffected",
            )
            self.active.remove("is")
        return None if self.active else "no metric left to compute"

    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """torch-fidelity's Inception with the configured weights (or the tiny test extractor)."""
        return (
            fidelity.tiny_spec() if self.extractor == "tiny" else fidelity.inception_spec(self.weights_path)
        )

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The requested scores and the protocol."""
        spec, gen, ref = collected
        out: dict[str, Any] = fidelity.fidelity_scores(
            gen, ref or gen, spec, self.active, seed=self.seed, **self.score_kwargs
        )
        out[f"{self.name}_protocol"] = self.protocol(spec, ref)
        return out

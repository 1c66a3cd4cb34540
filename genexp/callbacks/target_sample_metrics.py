"""FD (clf) of a GEN decoding codes drawn from the target p_t itself (``sample_from: target``),
beside the run's own ``fd_classifier`` (which samples the configured source, e.g. the shrunk
stationary law N(0, (1 - h²) I)); GEN-3, issue 13."""

from __future__ import annotations

from typing import Any

import lightning as L

from genexp.callbacks.classifier_metrics import DomainClassifierMetrics


class TargetSampleFD(DomainClassifierMetrics):
    """:class:`DomainClassifierMetrics` with the model's ``sample_from`` set to ``target`` while
    the samples are drawn (restored afterwards). Every key is renamed ``<key>_target`` (e.g.
    ``fd_classifier_target``) and the generated features are kept apart from the run's other
    feature metrics, so both numbers come from their own samples. Same protocol otherwise."""

    default_name = "fd_classifier_target"

    def __init__(self, metrics: tuple[str, ...] = ("fd",), **kwargs: Any) -> None:
        super().__init__(metrics=metrics, **kwargs)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs a model with a ``sample_from`` switch (GEN), then what the classifier metric needs."""
        if not hasattr(pl_module, "sample_from"):
            return f"{type(pl_module).__name__} has no sample_from switch"
        return super().skip_reason(trainer, pl_module)

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """The parent's collect with ``sample_from = target`` and a feature cache of its own."""
        saved, store = pl_module.sample_from, getattr(trainer, "genexp_feature_cache", None)
        pl_module.sample_from, trainer.genexp_feature_cache = "target", {}
        try:
            return super().collect(trainer, pl_module)
        finally:
            pl_module.sample_from = saved
            trainer.genexp_feature_cache = store if store is not None else {}

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The parent's numbers, keys suffixed ``_target`` (the protocol key is already named)."""
        out = super().score(collected, trainer, pl_module)
        proto = f"{self.name}_protocol"
        return {k if k == proto else f"{k}_target": v for k, v in out.items()}

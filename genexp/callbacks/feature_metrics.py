"""Feature-space metrics of generated images: the shared machinery of the Inception metrics
(FID/KID/PR/IS) and the domain-classifier metrics (``fd_classifier`` / ``is_classifier``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.constraints import PositiveInt
from genexp.metrics import fidelity, reference_cache, weight_files
from genexp.metrics.fidelity import ExtractorSpec


class FeatureMetrics(MetricCallback):
    """Generate ``n_samples`` images, embed them and ``n_reference`` real images of
    ``reference_split`` with a feature extractor, and score the two feature sets.

    Subclasses say which extractor (:meth:`extractor_spec`) and which keys (:meth:`score`).
    Real features are cached in ``<cache_dir>/fidelity/`` per (dataset, split, extractor,
    protocol); generated features are shared, within one evaluation, by every callback that uses
    the same extractor and sampling protocol (e.g. ``metric=[fid,kid]`` samples once).
    ``extract_batch_size`` bounds the extractor's batch (Inception at 299x299 is memory-hungry).
    """

    needs_reference_for: frozenset[str] = frozenset()

    def __init__(
        self,
        metrics: Iterable[str],
        n_samples: PositiveInt = 10000,
        reference_split: str = "train",
        n_reference: PositiveInt | None = 10000,
        seed: int = 0,
        cache_dir: str | None = None,
        extract_batch_size: PositiveInt = 50,
        kid_subsets: PositiveInt = 100,
        kid_subset_size: PositiveInt = 1000,
        prc_neighborhood: PositiveInt = 3,
        isc_splits: PositiveInt = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.metrics = [str(m) for m in metrics]
        self.n_samples = int(n_samples)
        self.reference_split = reference_split
        self.n_reference = None if n_reference is None else int(n_reference)
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.extract_batch_size = int(extract_batch_size)
        self.score_kwargs = {
            "kid_subsets": int(kid_subsets),
            "kid_subset_size": int(kid_subset_size),
            "prc_neighborhood": int(prc_neighborhood),
            "isc_splits": int(isc_splits),
        }
        self.active = list(self.metrics)
        self._extractor: tuple[str, Any] | None = None

    # -- for subclasses -------------------------------------------------------------------------
    def extractor_spec(self, trainer: L.Trainer, pl_module: L.LightningModule) -> ExtractorSpec:
        """The feature extractor to use (may train/load it; called on every rank)."""
        raise NotImplementedError

    def image_skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Common preconditions: a sampler, an image datamodule with 1 or 3 channels."""
        dm = datamodule_of(trainer)
        if dm is None:
            return "the trainer has no datamodule"
        if getattr(dm, "kind", None) != "image":
            return f"dataset {getattr(dm, 'name', '?')!r} is not an image dataset"
        if not has_capability(pl_module, "sample"):
            return f"{type(pl_module).__name__} cannot sample"
        if len(dm.shape) != 3 or dm.shape[0] not in (1, 3):
            return f"images of shape {tuple(dm.shape)} are not (1|3, H, W)"
        return None

    # -- feature extraction -------------------------------------------------------------------------
    def _get_extractor(self, spec: ExtractorSpec, layers: list[str], device: torch.device) -> Any:
        key = repr((asdict(spec), layers, str(device)))
        if self._extractor is None or self._extractor[0] != key:
            self._extractor = (key, fidelity.make_extractor(spec, layers, device))
        return self._extractor[1]

    def _embed(self, extractor: Any, spec: ExtractorSpec, x: Tensor, value_range: Any) -> dict[str, Tensor]:
        x = fidelity.to_uint8_rgb(x, value_range) if spec.input == "uint8_rgb" else x.float()
        parts = [
            fidelity.extract(extractor, x[i : i + self.extract_batch_size])
            for i in range(0, len(x), self.extract_batch_size)
        ]
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def generated_features(
        self, trainer: L.Trainer, pl_module: L.LightningModule, spec: ExtractorSpec, layers: list[str]
    ) -> dict[str, Tensor]:
        """Features of ``n_samples`` generated images (shared per evaluation through the trainer)."""
        key = (
            repr(asdict(spec)),
            tuple(layers),
            self.n_samples,
            self.seed,
            self.batch_size,
            trainer.global_step,
            trainer.current_epoch,
            trainer.state.stage,
        )
        store: dict = getattr(trainer, "genexp_feature_cache", {})
        if key not in store:
            extractor = self._get_extractor(spec, layers, pl_module.device)
            vr = datamodule_of(trainer).value_range
            feats = self.gather_samples(
                trainer, pl_module, self.n_samples, self.seed, lambda x: self._embed(extractor, spec, x, vr)
            )
            store = {k: v for k, v in store.items() if k[5:] == key[5:]}
            store[key] = feats
            trainer.genexp_feature_cache = store
        return store[key]

    def reference_protocol(self, dm: Any, x: Tensor, spec: ExtractorSpec) -> dict[str, Any]:
        """What the cached real features depend on (besides dataset, split and extractor)."""
        weights = spec.weights_path
        return {
            "n": len(x),
            "shape": list(dm.shape),
            "value_range": list(dm.value_range or []),
            "data": reference_cache.data_fingerprint(x),
            "layer": spec.feature_layer,
            "weights_sha256": weight_files.file_sha256(weights) if weights else None,
        }

    def reference_features(
        self, trainer: L.Trainer, pl_module: L.LightningModule, spec: ExtractorSpec
    ) -> dict[str, Tensor] | None:
        """Real features of the reference split: from the cache, else computed (sharded) and cached.

        Returns the features on rank 0 and None elsewhere.
        """
        dm = datamodule_of(trainer)
        x, _ = dm.get_data(self.reference_split, self.n_reference)
        cache_dir = self.cache_dir or Path(trainer.default_root_dir) / ".cache"
        path = reference_cache.reference_cache_path(
            cache_dir, dm.name, self.reference_split, spec, self.reference_protocol(dm, x, spec)
        )
        if trainer.strategy.reduce_boolean_decision(path.is_file(), all=True):
            return reference_cache.load_reference(path) if trainer.is_global_zero else None
        extractor = self._get_extractor(spec, spec.layers(True), pl_module.device)
        layer = spec.feature_layer
        feats = self.gather_rows(
            trainer,
            pl_module,
            x,
            None,
            lambda xb, _: {layer: self._embed(extractor, spec, xb, dm.value_range)[layer]},
        )
        if trainer.is_global_zero:
            reference_cache.save_reference(
                path, feats, {"dataset": dm.name, "split": self.reference_split, "extractor": spec.label}
            )
        return feats

    # -- MetricCallback ---------------------------------------------------------------------------
    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Generated features (all requested layers) and, if needed, the reference features."""
        spec = self.extractor_spec(trainer, pl_module)
        gen = self.generated_features(trainer, pl_module, spec, spec.layers(True))
        ref = None
        if self.needs_reference_for & set(self.active):
            ref = self.reference_features(trainer, pl_module, spec)
        return spec, gen, ref

    def protocol(self, spec: ExtractorSpec, ref: dict[str, Tensor] | None) -> dict[str, Any]:
        """How the numbers were measured; recorded as ``<name>_protocol`` next to them."""
        weights = spec.weights_path
        proto = {
            "n_samples": self.n_samples,
            "reference_split": self.reference_split if ref is not None else None,
            "n_reference": len(ref[spec.feature_layer]) if ref is not None else None,
            "feature_extractor": spec.label or spec.name,
            "feature_layer": spec.feature_layer,
            "weights": str(weights) if weights else None,
            "weights_sha256": weight_files.file_sha256(weights)[:16] if weights else None,
            "resizer": spec.resizer,
            "input": "uint8 RGB from the data range (grey replicated)"
            if spec.input == "uint8_rgb"
            else "float, data range",
            "seed": self.seed,
            "metrics": list(self.active),
        }
        if "kid" in self.active:
            size = min(
                self.score_kwargs["kid_subset_size"], self.n_samples, proto["n_reference"] or self.n_samples
            )
            proto.update(kid_subsets=self.score_kwargs["kid_subsets"], kid_subset_size=size)
        if "prd" in self.active:
            proto["prc_neighborhood"] = self.score_kwargs["prc_neighborhood"]
        if "is" in self.active:
            proto["is_splits"] = self.score_kwargs["isc_splits"]
        return proto

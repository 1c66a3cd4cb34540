"""Feature-space metrics of generated images: the shared machinery of the Inception metrics
(FID/KID/PR/IS) and the domain-classifier metrics (``fd_classifier`` / ``is_classifier``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import lightning as L
import torch
from annotated_types import Ge, Interval
from torch import Tensor

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.constraints import Described, NonNegativeInt, PositiveInt
from genexp.metrics import extraction, fidelity, reference_cache, weight_files
from genexp.metrics.fd_infinity import fd_vs_n_figure, subset_sizes
from genexp.metrics.fidelity import ExtractorSpec
from genexp.run_record import run_record

QUALIFIERS = ("_std", "_slope", "_points")


def tagged(key: str, tag: str) -> str:
    """A score key of :func:`~genexp.metrics.fidelity.fidelity_scores` for an extractor whose keys
    carry ``tag``: ``fid`` -> ``fd<tag>``, ``fid_inf_points`` -> ``fd_inf<tag>_points``,
    ``is_std`` -> ``is<tag>_std``, ``density`` -> ``density<tag>`` (no tag: unchanged)."""
    if not tag:
        return key
    qualifier = next((q for q in QUALIFIERS if key.endswith(q)), "")
    base = key[: len(key) - len(qualifier)]
    base = "fd" + base[3:] if base.startswith("fid") else base
    return f"{base}{tag}{qualifier}"


def fd_inf_protocol(n_samples: int, score_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The FD∞ part of a protocol: the subset sizes and how the fit is made."""
    sizes = subset_sizes(n_samples, score_kwargs["fd_inf_points"], score_kwargs["fd_inf_min_fraction"])
    return {
        "fd_inf_sizes": sizes,
        "fd_inf_fit": "least squares FD_N = FD_inf + slope / N over random subsets of the generated "
        "features (drawn independently per N from the metric's seed; reference statistics fixed)",
    }


class FeatureMetrics(MetricCallback):
    """Generate ``n_samples`` images, embed them and ``n_reference`` real images of
    ``reference_split`` with a feature extractor, and score the two feature sets.

    Subclasses say which extractor (:meth:`extractor_spec`) and which keys (:meth:`score`).
    Real features are cached in ``<cache_dir>/fidelity/`` per (dataset, split, extractor,
    protocol); generated features are shared, within one evaluation, by every callback that uses
    the same extractor and sampling protocol (e.g. ``metric=[fid,kid]`` samples once).
    ``extract_batch_size`` bounds the extractor's batch (Inception at 299x299 is memory-hungry);
    ``channels_last``, ``autocast`` (``none`` | ``bf16``) and ``extract_threads`` (``auto``: the
    machine's cores shared among the local processes, restored after extraction) are the speed
    path (:mod:`genexp.metrics.extraction`), recorded in the protocol.
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
        extract_batch_size: PositiveInt = 32,
        channels_last: bool = True,
        autocast: Literal["none", "bf16"] = "none",
        extract_threads: Union[Literal["auto"], NonNegativeInt] = "auto",
        kid_subsets: PositiveInt = 100,
        kid_subset_size: PositiveInt = 1000,
        prc_neighborhood: PositiveInt = 3,
        isc_splits: PositiveInt = 10,
        dc_neighborhood: PositiveInt = 5,
        fd_inf_points: Annotated[int, Ge(2)] = 5,
        fd_inf_min_fraction: Annotated[float, Interval(gt=0, lt=1), Described("a number in (0, 1)")] = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.metrics = [str(m) for m in metrics]
        self.n_samples = int(n_samples)
        self.reference_split = reference_split
        self.n_reference = None if n_reference is None else int(n_reference)
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.extraction = extraction.ExtractionSettings(
            int(extract_batch_size), bool(channels_last), autocast
        )
        self.extract_threads = extract_threads
        self._threads = 0
        self.score_kwargs = {
            "kid_subsets": int(kid_subsets),
            "kid_subset_size": int(kid_subset_size),
            "prc_neighborhood": int(prc_neighborhood),
            "isc_splits": int(isc_splits),
            "dc_neighborhood": int(dc_neighborhood),
            "fd_inf_points": int(fd_inf_points),
            "fd_inf_min_fraction": float(fd_inf_min_fraction),
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
        key = repr((asdict(spec), layers, str(device), self.extraction))
        if self._extractor is None or self._extractor[0] != key:
            built = extraction.prepare(fidelity.make_extractor(spec, layers, device), self.extraction)
            self._extractor = (key, built)
        return self._extractor[1]

    def _embed(self, extractor: Any, spec: ExtractorSpec, x: Tensor, value_range: Any) -> dict[str, Tensor]:
        x = fidelity.to_uint8_rgb(x, value_range) if spec.input == "uint8_rgb" else x.float()
        return extraction.run_batches(extractor, x, self.extraction, self._threads)

    def generated_features(
        self, trainer: L.Trainer, pl_module: L.LightningModule, spec: ExtractorSpec, layers: list[str]
    ) -> dict[str, Tensor]:
        """Features of ``n_samples`` generated images (shared per evaluation through the trainer)."""
        key = (
            repr((asdict(spec), self.extraction.autocast)),
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
            "autocast": self.extraction.autocast,
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
        protocol = self.reference_protocol(dm, x, spec)
        path = reference_cache.reference_cache_path(cache_dir, dm.name, self.reference_split, spec, protocol)
        record = reference_cache.reference_record(dm.name, self.reference_split, spec, protocol)
        cached = None  # rank 0 reads the file and checks its recorded protocol; the others follow
        if trainer.is_global_zero and path.is_file():
            cached = reference_cache.load_reference(path, record)
        if trainer.strategy.broadcast(cached is not None, src=0):
            return cached
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
                path,
                feats,
                {"dataset": dm.name, "split": self.reference_split, "extractor": spec.label},
                record,
            )
        return feats

    # -- MetricCallback ---------------------------------------------------------------------------
    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Generated features (all requested layers) and, if needed, the reference features."""
        spec = self.extractor_spec(trainer, pl_module)
        self._threads = extraction.resolve_threads(self.extract_threads, trainer.num_devices)
        gen = self.generated_features(trainer, pl_module, spec, spec.layers(True))
        ref = None
        if self.needs_reference_for & set(self.active):
            ref = self.reference_features(trainer, pl_module, spec)
        return spec, gen, ref

    def scores(
        self,
        trainer: L.Trainer,
        spec: ExtractorSpec,
        collected: tuple[dict[str, Tensor], dict[str, Tensor] | None],
        metrics: Iterable[str],
        tag: str = "",
    ) -> dict[str, Any]:
        """:func:`~genexp.metrics.fidelity.fidelity_scores` of the gathered features, keys
        :func:`tagged` with ``tag``; FD∞'s FD-vs-N plot goes to ``samples/<name>_fd_vs_n.png``."""
        gen, ref = collected
        raw = fidelity.fidelity_scores(gen, ref or gen, spec, metrics, seed=self.seed, **self.score_kwargs)
        if "fid_inf_points" in raw:
            title = f"{self.name}: FD∞ ({spec.label or spec.name})"
            figure = fd_vs_n_figure(raw["fid_inf_points"], raw["fid_inf"], raw["fid_inf_slope"], title)
            run_record(trainer).save_figure(trainer, figure, f"{self.name}_fd_vs_n")
        return {tagged(k, tag): v for k, v in raw.items()}

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
            **self.extraction.protocol(),
            "extract_threads": self.extract_threads,
        }
        if "kid" in self.active:
            size = min(
                self.score_kwargs["kid_subset_size"], self.n_samples, proto["n_reference"] or self.n_samples
            )
            proto.update(kid_subsets=self.score_kwargs["kid_subsets"], kid_subset_size=size)
        if {"prd", "prdc"} & set(self.active):
            proto["prc_neighborhood"] = self.score_kwargs["prc_neighborhood"]
        if "prdc" in self.active:
            proto["dc_neighborhood"] = self.score_kwargs["dc_neighborhood"]
        if "fd_inf" in self.active:
            proto.update(fd_inf_protocol(self.n_samples, self.score_kwargs))
        if "is" in self.active:
            proto["is_splits"] = self.score_kwargs["isc_splits"]
        return proto

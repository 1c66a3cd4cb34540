"""The on-disk cache of real-data features: keyed by the extractor spec, the protocol and a
fingerprint of the data, so every run, evaluation and sweep job on the same data reuses it.

Each file also records what it was computed with (:func:`reference_record`: dataset, split,
extractor spec and protocol); :func:`load_reference` refuses a file whose record differs from the
caller's (or that has none), and the caller then rebuilds it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genexp.metrics.fidelity import ExtractorSpec
from genexp.metrics.frechet import gaussian_fit

log = logging.getLogger(__name__)


def protocol_hash(protocol: dict[str, Any]) -> str:
    """A short stable hash of a JSON-serialisable protocol dict."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True, default=str).encode()).hexdigest()[:12]


def data_fingerprint(x: Tensor) -> str:
    """A cheap fingerprint of a data tensor (shape and a few sums) to detect changed data."""
    flat = x.reshape(len(x), -1).double()
    parts = [tuple(x.shape), round(flat.sum().item(), 4), round(flat[::7].abs().sum().item(), 4)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def reference_cache_path(
    cache_dir: str | os.PathLike, dataset: str, split: str, spec: ExtractorSpec, protocol: dict[str, Any]
) -> Path:
    """``<cache_dir>/fidelity/<dataset>-<split>-<extractor>-<protocol hash>.pt``."""
    key = protocol_hash({"spec": asdict(spec), **protocol})
    return Path(cache_dir) / "fidelity" / f"{dataset}-{split}-{spec.name}-{key}.pt"


def reference_record(
    dataset: str, split: str, spec: ExtractorSpec, protocol: dict[str, Any]
) -> dict[str, Any]:
    """What a cache file of real features was computed with (JSON-plain, comparable with ``==``)."""
    record = {"dataset": dataset, "split": split, "spec": asdict(spec), **protocol}
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def save_reference(
    path: Path, features: dict[str, Tensor], meta: dict[str, Any], record: dict[str, Any] | None = None
) -> None:
    """Write real features (and their Gaussian statistics) atomically, with their ``record``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = {k: gaussian_fit(v) for k, v in features.items()}
    blob = {"features": {k: v.cpu() for k, v in features.items()}, "stats": stats, "meta": meta}
    blob["protocol"] = record
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_reference(path: Path, record: dict[str, Any] | None = None) -> dict[str, Tensor] | None:
    """The cached real features ``{layer: (n, d)}``; with ``record``, None (and a warning) when
    the file records another protocol, or none: the caller rebuilds it."""
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if record is not None and blob.get("protocol") != record:
        theirs = blob.get("protocol")
        why = "it records no protocol"
        if theirs is not None:
            keys = sorted(k for k in set(record) | set(theirs) if record.get(k) != theirs.get(k))
            why = f"its recorded protocol differs in {keys}"
        log.warning("refusing the cached real features %s (%s); rebuilding them", path, why)
        return None
    return blob["features"]

"""The on-disk cache of real-data features: keyed by the extractor spec, the protocol and a
fingerprint of the data, so every run, evaluation and sweep job on the same data reuses it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genexp.metrics.fidelity import ExtractorSpec
from genexp.metrics.frechet import gaussian_fit


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


def save_reference(path: Path, features: dict[str, Tensor], meta: dict[str, Any]) -> None:
    """Write real features (and their Gaussian statistics) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = {k: gaussian_fit(v) for k, v in features.items()}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"features": {k: v.cpu() for k, v in features.items()}, "stats": stats, "meta": meta}, tmp)
    os.replace(tmp, path)


def load_reference(path: Path) -> dict[str, Tensor]:
    """The cached real features ``{layer: (n, d)}``."""
    return torch.load(path, map_location="cpu", weights_only=False)["features"]

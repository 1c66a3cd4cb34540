"""The domain classifier as part of a metric's protocol: its config (dataset, architecture,
recipe, classifier seed), its cache file (trained once, under a lock, for every run, evaluation and
sweep job), the protocol recorded next to its numbers, and its torch-fidelity extractor
``genexp-domain-classifier``."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genexp.metrics.domain_classifier import (
    EXTRACTOR_NAME,
    DomainClassifier,
    accuracy,
    per_sample_view,
    train_classifier,
)
from genexp.metrics.fidelity import ExtractorSpec, FeaturesLogitsExtractor, register
from genexp.metrics.reference_cache import protocol_hash
from genexp.metrics.weight_files import file_sha256


def classifier_config(
    shape: Sequence[int],
    num_classes: int,
    per_channel: bool,
    arch: str = "mlp",
    hidden: int = 256,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    max_train: int | None = 60000,
    seed: int = 0,
    base: int = 10,
) -> dict[str, Any]:
    """Everything that defines a trained classifier (part of its cache key). ``seed`` is the
    classifier's own seed (initialisation, batch order, dropout): a protocol value, not the run's."""
    classes = base if per_channel else int(num_classes)
    return {
        "shape": [int(s) for s in shape],
        "num_classes": classes,
        "per_channel": bool(per_channel),
        "arch": arch,
        "hidden": int(hidden),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "max_train": max_train,
        "seed": int(seed),
        "base": int(base),
    }


def classifier_cache_path(
    cache_dir: str | os.PathLike, dataset: str, config: dict[str, Any], fingerprint: str
) -> Path:
    """``<cache_dir>/domain_classifier/<dataset>-<arch>-<hash>.pt``."""
    key = protocol_hash({"config": config, "data": fingerprint})
    return Path(cache_dir) / "domain_classifier" / f"{dataset}-{config['arch']}-{key}.pt"


def fit_and_save(
    path: Path,
    config: dict[str, Any],
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    dataset: str,
    train_data: str | None = None,
) -> dict[str, Any]:
    """Train a :class:`DomainClassifier` on ``train``, measure it on ``test`` and save it to ``path``.

    Seeded with ``config["seed"]`` only; the caller's global (CPU) RNG state is restored afterwards,
    so whether the classifier was cached or trained changes nothing else in a run.
    ``train_data`` says, for the record, which data it learnt from.
    """
    with torch.random.fork_rng(devices=[]):
        with torch.inference_mode(False):  # the caller may be inside Lightning's test loop
            torch.manual_seed(config["seed"])
            model = DomainClassifier(config)
        x, y = per_sample_view(*train, config["per_channel"], config["base"])
        if config["max_train"]:
            x, y = x[: config["max_train"]], y[: config["max_train"]]
        start = time.perf_counter()
        train_acc = train_classifier(
            model, x, y, config["epochs"], config["batch_size"], config["lr"], config["seed"]
        )
    xt, yt = per_sample_view(*test, config["per_channel"], config["base"])
    seconds = round(time.perf_counter() - start, 2)
    info = {
        "dataset": dataset,
        "train_acc": train_acc,
        "test_acc": accuracy(model.net, xt, yt),
        "n_train": len(x),
        "n_test": len(xt),
        "seed": int(config["seed"]),
        "train_data": train_data,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    # no timing in the file: the same training gives the same bytes (and sha256) wherever it runs
    torch.save({"config": config, "state_dict": model.state_dict(), "info": info}, tmp)
    os.replace(tmp, path)
    return {**info, "train_seconds": seconds}


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``lock_path`` (POSIX ``flock``; no lock where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_classifier(
    path: Path,
    config: dict[str, Any],
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    dataset: str,
    train_data: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """``(trained, info)``: the cached classifier at ``path``, trained and saved first if absent.

    Concurrent processes (sweep jobs) take a lock file next to ``path``, so only one trains and
    the others load its file.
    """
    path = Path(path)
    if not path.is_file():
        with _exclusive(path.with_suffix(".lock")):
            if not path.is_file():
                return True, fit_and_save(path, config, train, test, dataset, train_data)
    return False, load_classifier(path)[1]


def classifier_protocol(
    path: str | os.PathLike, config: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """What identifies the classifier a number was measured with (recorded in ``<name>_protocol``):
    its file and sha256, its seed and training recipe, the data it learnt from and its accuracy."""
    keys = ("arch", "hidden", "epochs", "batch_size", "lr", "max_train", "per_channel")
    recipe = {k: config[k] for k in keys}
    return {
        "classifier_file": Path(path).name,
        "classifier_sha256": file_sha256(path),
        "classifier_seed": int(config["seed"]),
        "classifier_recipe": recipe,
        "classifier_train_data": info.get("train_data"),
        "classifier_n_train": info.get("n_train"),
        "classifier_test_acc": info.get("test_acc"),
        "classifier_n_test": info.get("n_test"),
    }


def load_classifier(path: str | os.PathLike) -> tuple[DomainClassifier, dict[str, Any]]:
    """A cached classifier (eval mode) and its info (accuracies, sizes)."""
    blob = torch.load(path, map_location="cpu", weights_only=False)
    model = DomainClassifier(blob["config"])
    model.load_state_dict(blob["state_dict"])
    return model.eval(), dict(blob["info"])


class DomainClassifierExtractor(FeaturesLogitsExtractor):
    """torch-fidelity view of a cached :class:`DomainClassifier` (``feature_extractor_weights_path``).

    Features ``'features'`` (pre-logit hidden layer) and ``'logits'``; input: float images in the
    dataset's value range, at the dataset's resolution (no resizing).
    """

    def __init__(
        self,
        name: str,
        features_list: Sequence[str],
        feature_extractor_weights_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, list(features_list))
        if not feature_extractor_weights_path:
            raise ValueError(f"{EXTRACTOR_NAME} needs feature_extractor_weights_path (a cached classifier)")
        self.model, self.info = load_classifier(feature_extractor_weights_path)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        """Unused."""
        return torch.zeros(1, 1, 28, 28)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Float images -> requested features."""
        feats, logits = self.model(x.float())
        out = {"features": feats, "logits": logits}
        return tuple(out[k] for k in self.features_list)


register(EXTRACTOR_NAME, DomainClassifierExtractor)


def classifier_spec(path: str | os.PathLike, config: dict[str, Any]) -> ExtractorSpec:
    """The :class:`ExtractorSpec` of a cached classifier."""
    what = "per-channel " if config["per_channel"] else ""
    return ExtractorSpec(
        name=EXTRACTOR_NAME,
        feature_layer="features",
        logits_layer="logits",
        input="float",
        weights_path=str(path),
        resizer="none (native resolution)",
        label=f"genexp domain classifier ({what}{config['arch']}, hidden {config['hidden']})",
    )

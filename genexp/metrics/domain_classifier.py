"""A small classifier trained by genexp on a dataset's labelled train split, used as the feature
extractor of ``fd_classifier`` / ``is_classifier`` (thesis §M2, MNIST-classifier FID/IS) and, per
channel, for Stacked-MNIST mode counting (PGMGAN §6).

The trained network is cached in ``<cache_dir>/domain_classifier/`` and registered with
torch-fidelity as the feature extractor ``genexp-domain-classifier`` (its weights path is the
cache file), so it runs through the same pipeline as Inception.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.metrics.fidelity import ExtractorSpec, FeaturesLogitsExtractor, protocol_hash, register
from genexp.metrics.modes import mode_counts, reverse_kl_to_uniform

EXTRACTOR_NAME = "genexp-domain-classifier"


class ClassifierNet(nn.Module):
    """``mlp``: flatten -> hidden -> hidden -> K (ReLU, dropout 0.2; PGMGAN's MNIST MLP with
    hidden 256); ``cnn``: three 3x3 convs (32, 64 s2, 128 s2), 2x2 pooling, a hidden layer, K.
    ``forward`` returns (features = last hidden layer, logits)."""

    def __init__(self, in_shape: Sequence[int], num_classes: int, arch: str = "mlp", hidden: int = 256) -> None:
        super().__init__()
        c = int(in_shape[0])
        if arch == "mlp":
            self.body = nn.Sequential(
                nn.Flatten(), nn.Linear(math.prod(in_shape), hidden), nn.ReLU(), nn.Dropout(0.2),
                nn.Linear(hidden, hidden), nn.ReLU(),
            )
        elif arch == "cnn":
            self.body = nn.Sequential(
                nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(512, hidden), nn.ReLU(),
            )
        else:
            raise ValueError(f"unknown classifier arch {arch!r}; use 'mlp' or 'cnn'")
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(features, logits)."""
        h = self.body(x)
        return h, self.head(self.dropout(h))


class DomainClassifier(nn.Module):
    """A :class:`ClassifierNet`, applied to whole images or to each channel separately.

    Per channel (Stacked-MNIST), features are the channels' features concatenated and the logits
    are the joint log-probabilities of the ``K**C`` combinations (channel 0 most significant,
    so mode = 100 d_R + 10 d_G + d_B for three digits).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.per_channel = bool(config["per_channel"])
        shape = list(config["shape"])
        net_shape = [1, *shape[1:]] if self.per_channel else shape
        self.net = ClassifierNet(net_shape, config["num_classes"], config["arch"], config["hidden"])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(features, logits) of a batch in the data's value range."""
        if not self.per_channel:
            return self.net(x)
        n, c = x.shape[:2]
        feats, logits = self.net(x.reshape(n * c, 1, *x.shape[2:]))
        logp = F.log_softmax(logits, dim=1).reshape(n, c, -1)
        joint = logp[:, 0]
        for i in range(1, c):
            joint = (joint.unsqueeze(2) + logp[:, i].unsqueeze(1)).reshape(n, -1)
        return feats.reshape(n, -1), joint


def channel_labels(y: Tensor, channels: int, base: int = 10) -> Tensor:
    """Split joint labels ``sum_c d_c base^(C-1-c)`` into per-channel digits ``(n, C)``."""
    y = y.long()
    return torch.stack([(y // base ** (channels - 1 - c)) % base for c in range(channels)], dim=1)


def per_sample_view(x: Tensor, y: Tensor, per_channel: bool, base: int) -> tuple[Tensor, Tensor]:
    """Training view: whole images and labels, or every channel as a 1-channel image with its digit."""
    if not per_channel:
        return x, y.long()
    c = x.shape[1]
    return x.reshape(-1, 1, *x.shape[2:]), channel_labels(y, c, base).reshape(-1)


def train_classifier(model: DomainClassifier, x: Tensor, y: Tensor, epochs: int, batch_size: int = 128,
                     lr: float = 1e-3, seed: int = 0) -> float:
    """Fit ``model.net`` with Adam and cross-entropy on (x, y) (CPU); returns the final train accuracy.

    Runs outside any inference/no-grad mode the caller may be in (e.g. Lightning's test loop).
    """
    with torch.inference_mode(False), torch.enable_grad():
        x, y = x.detach().clone().float(), y.detach().clone().long()
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        net = model.net.train()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), batch_size):
                idx = perm[i : i + batch_size]
                loss = F.cross_entropy(net(x[idx])[1], y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        net.eval()
    return accuracy(model.net, x, y)


@torch.no_grad()
def accuracy(net: nn.Module, x: Tensor, y: Tensor, batch_size: int = 2048) -> float:
    """Top-1 accuracy of ``net`` (which returns (features, logits)) on (x, y)."""
    net.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += (net(x[i : i + batch_size].float())[1].argmax(1) == y[i : i + batch_size].long()).sum().item()
    return correct / max(1, len(x))


def classifier_config(shape: Sequence[int], num_classes: int, per_channel: bool, arch: str = "mlp",
                      hidden: int = 256, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
                      max_train: int | None = 60000, seed: int = 0, base: int = 10) -> dict[str, Any]:
    """Everything that defines a trained classifier (part of its cache key)."""
    classes = base if per_channel else int(num_classes)
    return {"shape": [int(s) for s in shape], "num_classes": classes, "per_channel": bool(per_channel),
            "arch": arch, "hidden": int(hidden), "epochs": int(epochs), "batch_size": int(batch_size),
            "lr": float(lr), "max_train": max_train, "seed": int(seed), "base": int(base)}


def classifier_cache_path(cache_dir: str | os.PathLike, dataset: str, config: dict[str, Any], fingerprint: str) -> Path:
    """``<cache_dir>/domain_classifier/<dataset>-<arch>-<hash>.pt``."""
    key = protocol_hash({"config": config, "data": fingerprint})
    return Path(cache_dir) / "domain_classifier" / f"{dataset}-{config['arch']}-{key}.pt"


def fit_and_save(path: Path, config: dict[str, Any], train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
                 dataset: str) -> dict[str, Any]:
    """Train a :class:`DomainClassifier` on ``train``, measure it on ``test`` and save it to ``path``."""
    with torch.inference_mode(False):  # the caller may be inside Lightning's test loop
        torch.manual_seed(config["seed"])
        model = DomainClassifier(config)
    x, y = per_sample_view(*train, config["per_channel"], config["base"])
    if config["max_train"]:
        x, y = x[: config["max_train"]], y[: config["max_train"]]
    start = time.perf_counter()
    train_acc = train_classifier(model, x, y, config["epochs"], config["batch_size"], config["lr"], config["seed"])
    xt, yt = per_sample_view(*test, config["per_channel"], config["base"])
    info = {"dataset": dataset, "train_acc": train_acc, "test_acc": accuracy(model.net, xt, yt),
            "n_train": len(x), "n_test": len(xt), "train_seconds": round(time.perf_counter() - start, 2)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"config": config, "state_dict": model.state_dict(), "info": info}, tmp)
    os.replace(tmp, path)
    return info


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

    def __init__(self, name: str, features_list: Sequence[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: Any) -> None:
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
        name=EXTRACTOR_NAME, feature_layer="features", logits_layer="logits", input="float",
        weights_path=str(path), resizer="none (native resolution)",
        label=f"genexp domain classifier ({what}{config['arch']}, hidden {config['hidden']})",
    )


def classifier_modes(logits: Tensor) -> dict[str, float]:
    """Mode coverage of generated samples by their predicted class (PGMGAN §6): ``modes`` hit (of
    ``modes_total`` = number of logits, 1000 for Stacked-MNIST's joint per-channel classes) and
    ``reverse_kl_log10`` = KL(p_hat || uniform) in base 10."""
    total = logits.shape[1]
    counts = mode_counts(logits.argmax(dim=1).cpu(), total)
    return {"modes": int((counts > 0).sum().item()), "modes_total": int(total),
            "reverse_kl_log10": reverse_kl_to_uniform(counts, base=10)}

"""A small classifier trained by genexp on a dataset's labelled train split, used as the feature
extractor of ``fd_classifier`` / ``is_classifier`` (thesis §M2, MNIST-classifier FID/IS) and, per
channel, for Stacked-MNIST mode counting (PGMGAN §6): the networks, their training and the mode
counts. Its cache file, protocol and torch-fidelity extractor (``genexp-domain-classifier``) are in
:mod:`genexp.metrics.classifier_extractor`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.metrics.modes import mode_counts, reverse_kl_to_uniform

EXTRACTOR_NAME = "genexp-domain-classifier"


class ClassifierNet(nn.Module):
    """``mlp``: flatten -> hidden -> hidden -> K (ReLU, dropout 0.2; PGMGAN's MNIST MLP with
    hidden 256); ``cnn``: three 3x3 convs (32, 64 s2, 128 s2), 2x2 pooling, a hidden layer, K.
    ``forward`` returns (features = last hidden layer, logits)."""

    def __init__(
        self, in_shape: Sequence[int], num_classes: int, arch: str = "mlp", hidden: int = 256
    ) -> None:
        super().__init__()
        c = int(in_shape[0])
        if arch == "mlp":
            self.body = nn.Sequential(
                nn.Flatten(),
                nn.Linear(math.prod(in_shape), hidden),
                nn.ReLU(),
                nn.Dropout(0.2),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
            )
        elif arch == "cnn":
            self.body = nn.Sequential(
                nn.Conv2d(c, 32, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(64, 128, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(2),
                nn.Flatten(),
                nn.Linear(512, hidden),
                nn.ReLU(),
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


def train_classifier(
    model: DomainClassifier,
    x: Tensor,
    y: Tensor,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> float:
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
        correct += (
            (net(x[i : i + batch_size].float())[1].argmax(1) == y[i : i + batch_size].long()).sum().item()
        )
    return correct / max(1, len(x))


def classifier_modes(logits: Tensor) -> dict[str, float]:
    """Mode coverage of generated samples by their predicted class (PGMGAN §6): ``modes`` hit (of
    ``modes_total`` = number of logits, 1000 for Stacked-MNIST's joint per-channel classes) and
    ``reverse_kl_log10`` = KL(p_hat || uniform) in base 10."""
    total = logits.shape[1]
    counts = mode_counts(logits.argmax(dim=1).cpu(), total)
    return {
        "modes": int((counts > 0).sum().item()),
        "modes_total": int(total),
        "reverse_kl_log10": reverse_kl_to_uniform(counts, base=10),
    }

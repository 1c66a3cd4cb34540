"""Space partitioners S(x) = softmax(f(x)) for PGMGAN, each trained by its own ``fit``.

:class:`KMeansPartitioner` is the 2-D/flat-data partitioner of PGMGAN §3.2: k-means labels on
the training points, then a ``Linear(d, k)`` (the constrained case: convex cells, a guide without
spurious optima) or an MLP ``d-10-20-k`` (unconstrained) trained with cross-entropy on them.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.mlp import MLP, _numel

PARTITIONER_ARCHS = ("linear", "mlp")


def kmeans_labels(x: Tensor, k: int, n_init: int, max_iter: int, seed: int) -> Tensor:
    """scikit-learn k-means (k-means++) cluster labels of the rows of ``x``.

    Runs with torch's thread count (OpenMP threads beyond the free cores slow k-means down many times).
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed)
    with threadpool_limits(limits=torch.get_num_threads()):
        labels = km.fit_predict(x.detach().double().cpu().numpy())
    return torch.as_tensor(labels, dtype=torch.long)


def partition_sizes(labels: Tensor, k: int) -> Tensor:
    """Number of rows in each of the ``k`` parts."""
    return torch.bincount(labels.long().view(-1), minlength=k)


class KMeansPartitioner(nn.Module):
    """Logits f(x) of a linear or MLP partitioner over flat inputs, fitted to k-means labels.

    ``fit`` runs k-means (``kmeans_n_init`` restarts) on up to ``n_points`` training rows, then
    ``steps`` full-batch Adam steps (``lr``) of cross-entropy; it returns the k-means agreement
    and the part sizes relative to n/k (PGMGAN §8: agreement 100 %, sizes within ±20 %).
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_parts: int,
        arch: str = "linear",
        hidden: Sequence[int] = (10, 20),
        n_points: int = 10_000,
        kmeans_n_init: int = 10,
        kmeans_max_iter: int = 300,
        steps: int = 500,
        lr: float = 0.05,
    ) -> None:
        super().__init__()
        if arch not in PARTITIONER_ARCHS:
            raise ConfigError(f"unknown partitioner arch {arch!r}; choose one of {list(PARTITIONER_ARCHS)}")
        if num_parts < 1:
            raise ConfigError(f"model.num_partitions must be >= 1, got {num_parts}")
        self.num_parts = int(num_parts)
        d = _numel(in_shape)
        self.net = (
            nn.Linear(d, self.num_parts) if arch == "linear" else MLP(d, self.num_parts, hidden, "relu")
        )
        self.n_points, self.steps, self.lr = int(n_points), int(steps), float(lr)
        self.kmeans_n_init, self.kmeans_max_iter = int(kmeans_n_init), int(kmeans_max_iter)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(n, k)``."""
        return self.net(torch.flatten(x, 1))

    def assign(self, x: Tensor) -> Tensor:
        """The arg-max part of each row."""
        return self.forward(x).argmax(dim=1)

    def fit(self, x: Tensor, seed: int = 0) -> dict[str, float]:
        """Train on the training rows ``x``; returns diagnostics (agreement, relative sizes, CE)."""
        gen = torch.Generator().manual_seed(int(seed))
        x = x[torch.randperm(len(x), generator=gen)[: self.n_points]].flatten(1).float()
        if self.num_parts == 1:
            return {"kmeans_agreement": 1.0, "size_min_rel": 1.0, "size_max_rel": 1.0, "ce": 0.0}
        target = kmeans_labels(x, self.num_parts, self.kmeans_n_init, self.kmeans_max_iter, seed).to(x.device)
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.steps):
                loss = F.cross_entropy(self.forward(x), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            pred = self.assign(x)
        rel = partition_sizes(pred, self.num_parts).float() * self.num_parts / len(x)
        return {
            "kmeans_agreement": (pred == target).float().mean().item(),
            "size_min_rel": rel.min().item(),
            "size_max_rel": rel.max().item(),
            "ce": loss.item(),
        }

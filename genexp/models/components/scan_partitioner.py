"""PGMGAN's image partitioner S(x) = softmax(W phi(x)), trained by its own ``fit`` (spec §2.1-2.2, §4):

A. SimCLR pretext: NT-Xent (temperature 0.1) between two augmented views, embedded by a 2-layer
   MLP projection head on the backbone phi (the constrained
   :class:`~genexp.nets.pgmgan_iresnet.InvertibleResNet` by default);
B. mining: the ``num_neighbors`` nearest neighbours of every training image by cosine similarity of
   the L2-normalised pretext embeddings; then SCAN: the whole network (phi and a fresh linear
   cluster head; the projection head is discarded) minimises the SCAN loss between augmented anchors
   and one random mined neighbour each (balance weight 5 as in the authors' fork; the paper's literal
   weights are ``balance_weight: 0.001, entropy_weight: 5``).

The partitioner is used frozen and in eval mode by :class:`~genexp.models.pgmgan.PGMGAN`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.data.augment import ImageAugment
from genexp.losses.scan import scan_loss
from genexp.models.components.contrastive_encoder import fit_contrastive
from genexp.models.components.partitioner import partition_sizes


def mine_neighbors(h: Tensor, k: int, chunk: int = 4096) -> Tensor:
    """Indices ``(n, k)`` of each row's ``k`` most cosine-similar other rows of ``h``."""
    h = F.normalize(h, dim=1)
    out = []
    for start in range(0, len(h), chunk):
        sim = h[start : start + chunk] @ h.t()
        rows = torch.arange(start, min(start + chunk, len(h)), device=h.device)
        sim[torch.arange(len(rows), device=h.device), rows] = float("-inf")
        out.append(sim.topk(k, dim=1).indices)
    return torch.cat(out)


class ScanPartitioner(nn.Module):
    """Backbone phi (factory ``(in_shape, out_dim)``), projection head and cluster head; see the module doc.

    ``pretext_optimizer`` / ``scan_optimizer`` are optimizer factories (Hydra partials) called with
    the parameters; ``augment`` is an :class:`ImageAugment` (or any ``(x, generator) -> x``).
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_parts: int,
        backbone: Callable[..., nn.Module],
        feature_dim: int = 512,
        projection_dim: int = 128,
        temperature: float = 0.1,
        pretext_steps: int = 1000,
        pretext_batch_size: int = 400,
        pretext_optimizer: Optional[Callable[..., torch.optim.Optimizer]] = None,
        num_neighbors: int = 20,
        scan_steps: int = 1000,
        scan_batch_size: int = 128,
        scan_optimizer: Optional[Callable[..., torch.optim.Optimizer]] = None,
        balance_weight: float = 5.0,
        entropy_weight: float = 0.0,
        augment: Optional[Callable[[Tensor, torch.Generator], Tensor]] = None,
        embed_batch_size: int = 1000,
    ) -> None:
        super().__init__()
        self.num_parts = int(num_parts)
        self.backbone = backbone(in_shape=in_shape, out_dim=feature_dim)
        self.projection = nn.Sequential(
            nn.Linear(feature_dim, feature_dim), nn.ReLU(), nn.Linear(feature_dim, projection_dim)
        )
        self.head = nn.Linear(feature_dim, self.num_parts)
        self.temperature, self.num_neighbors = float(temperature), int(num_neighbors)
        self.pretext_steps, self.pretext_batch_size = int(pretext_steps), int(pretext_batch_size)
        self.scan_steps, self.scan_batch_size = int(scan_steps), int(scan_batch_size)
        self.pretext_optimizer = pretext_optimizer or functools.partial(
            torch.optim.SGD, lr=0.4, momentum=0.9, weight_decay=3e-5
        )
        self.scan_optimizer = scan_optimizer or functools.partial(torch.optim.Adam, lr=1e-4)
        self.balance_weight, self.entropy_weight = float(balance_weight), float(entropy_weight)
        self.augment = augment or ImageAugment()
        self.embed_batch_size = int(embed_batch_size)

    def forward(self, x: Tensor) -> Tensor:
        """Partition logits ``(n, k)``."""
        return self.head(self.backbone(x))

    def assign(self, x: Tensor) -> Tensor:
        """The arg-max part of each image."""
        return self.forward(x).argmax(dim=1)

    def embed(self, x: Tensor) -> Tensor:
        """Pretext embedding (projection head on phi)."""
        return self.projection(self.backbone(x))

    def fit(self, x: Tensor, seed: int = 0) -> dict[str, Any]:
        """Pretext, mining and SCAN on the training images ``x``; returns diagnostics."""
        info = fit_contrastive(
            self.embed,
            [*self.backbone.parameters(), *self.projection.parameters()],
            x,
            self.augment,
            self.pretext_steps,
            self.pretext_batch_size,
            self.pretext_optimizer,
            self.temperature,
            seed,
        )
        self.eval()
        with torch.no_grad():
            h = torch.cat([self.embed(b) for b in x.split(self.embed_batch_size)])
        neighbors = mine_neighbors(h, self.num_neighbors)
        self.train()
        info.update(self._scan(x, neighbors, seed))
        self.eval()
        with torch.no_grad():
            parts = torch.cat([self.assign(b) for b in x.split(self.embed_batch_size)])
        rel = partition_sizes(parts, self.num_parts).float() * self.num_parts / len(x)
        info.update(
            {
                "parts_used": int((rel > 0).sum()),
                "size_min_rel": rel.min().item(),
                "size_max_rel": rel.max().item(),
            }
        )
        return info

    def _scan(self, x: Tensor, neighbors: Tensor, seed: int) -> dict[str, float]:
        gen = torch.Generator(device=x.device).manual_seed(int(seed) + 1)  # draws stay on the device
        opt = self.scan_optimizer([*self.backbone.parameters(), *self.head.parameters()])
        out: dict[str, Tensor] = {}
        with torch.enable_grad():
            for _ in range(self.scan_steps):
                idx = torch.randint(0, len(x), (self.scan_batch_size,), generator=gen, device=x.device)
                pick = torch.randint(
                    0, neighbors.shape[1], (self.scan_batch_size,), generator=gen, device=x.device
                )
                nb = neighbors[idx.to(neighbors.device), pick.to(neighbors.device)]
                both = torch.cat(
                    [self.augment(x[idx.to(x.device)], gen), self.augment(x[nb.to(x.device)], gen)]
                )
                p_anchor, p_neighbor = self.forward(both).softmax(dim=1).chunk(2)
                out = scan_loss(p_anchor, p_neighbor, self.balance_weight, self.entropy_weight)
                opt.zero_grad(set_to_none=True)
                out["loss"].backward()
                opt.step()
        return {f"scan_{k}": v.item() for k, v in out.items()}

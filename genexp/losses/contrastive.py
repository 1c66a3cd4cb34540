"""SimCLR's NT-Xent (normalised temperature-scaled cross-entropy) loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def nt_xent(u: Tensor, v: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent for two views ``u``, ``v`` of shape ``(B, d)``; row i of ``u`` and ``v`` are positives.

    Each of the 2B embeddings is L2-normalised; for view k with positive k+ the loss is
    ``-log exp(s(k, k+)/t) / sum_{j != k} exp(s(k, j)/t)`` with cosine similarity s, averaged
    over all 2B views.
    """
    z = F.normalize(torch.cat([u, v]), dim=1)
    n = u.shape[0]
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, positive)

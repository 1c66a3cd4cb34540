"""SCAN's clustering loss: neighbour consistency, batch balance, optional confidence (PGMGAN §2.2)."""

from __future__ import annotations

from torch import Tensor


def entropy(p: Tensor, eps: float = 1e-8) -> Tensor:
    """Categorical entropy (nats) along the last dimension."""
    p = p.clamp_min(eps)
    return -(p * p.log()).sum(dim=-1)


def scan_loss(
    p_anchor: Tensor,
    p_neighbor: Tensor,
    balance_weight: float = 5.0,
    entropy_weight: float = 0.0,
    eps: float = 1e-8,
) -> dict[str, Tensor]:
    """SCAN loss on cluster probabilities ``(B, k)`` of anchors and one mined neighbour each.

    ``loss = -mean_i log <p_i, p_j(i)> - balance_weight * H(mean_i p_i) + entropy_weight * mean_i H(p_i)``.
    The defaults are the authors' fork (weight 5 on the balance term, no per-sample term); the
    paper's literal Eq. 5 weights are ``balance_weight=1e-3, entropy_weight=5``.
    Returns ``loss``, ``consistency``, ``balance`` (H of the mean) and ``confidence`` (mean H).
    """
    dot = (p_anchor * p_neighbor).sum(dim=1).clamp_min(eps)
    consistency = -dot.log().mean()
    balance = entropy(p_anchor.mean(dim=0), eps)
    confidence = entropy(p_anchor, eps).mean()
    loss = consistency - balance_weight * balance + entropy_weight * confidence
    return {"loss": loss, "consistency": consistency, "balance": balance, "confidence": confidence}

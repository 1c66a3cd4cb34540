"""The pairing of Generative Topological Networks (Levy-Jurgenson & Yakhini, Algorithm 1; spec
gtn.md §2): each data point gets one N(0, I) draw, once, before training.

- d = 1: sort both samples by signed value and pair by rank (the empirical quantile map).
- d > 1: visit the Gaussian points by increasing norm; each takes the *remaining* data point of
  highest cosine, ties (within ``tie_tol``) going to the smallest data norm. ``tie_tol = 0`` is the
  literal algorithm (float32 cosines, first maximum wins).

The greedy matching is sequential, but the cosines are computed one block of Gaussian points at a
time with one matrix product; only an argmax per point remains in Python.
"""

from __future__ import annotations

import math

import torch
from scipy.stats import spearmanr
from torch import Tensor


def sort_pairing(y: Tensor, x: Tensor) -> Tensor:
    """1-D: ``match`` with y[i] <-> x[match[i]], pairing the k-th smallest y with the k-th smallest x."""
    match = torch.empty(len(y), dtype=torch.long)
    match[torch.argsort(y.reshape(-1), stable=True)] = torch.argsort(x.reshape(-1), stable=True)
    return match


def greedy_cosine_pairing(y: Tensor, x: Tensor, tie_tol: float = 0.0, block: int = 256) -> Tensor:
    """d-D greedy one-to-one highest-cosine matching in order of norm (Algorithm 1, with tie tolerance).

    Returns ``match`` (LongTensor, a permutation) with y[i] paired to x[match[i]].
    """
    n = len(y)
    if len(x) != n:
        raise ValueError(f"pairing needs as many Gaussian draws as data points ({len(y)} != {len(x)})")
    y32, x32 = y.reshape(n, -1).float(), x.reshape(n, -1).float()
    y_order = torch.argsort(y32.norm(dim=1), stable=True)
    x_order = torch.argsort(x32.norm(dim=1), stable=True)
    u = torch.nn.functional.normalize(x32[x_order], dim=1, eps=1e-6)  # data directions, by increasing norm
    v = torch.nn.functional.normalize(y32[y_order], dim=1, eps=1e-6)
    avail = torch.arange(n)  # remaining data rows (positions in norm order), kept in that order
    chosen = torch.empty(n, dtype=torch.long)
    for start in range(0, n, block):
        cos = v[start : start + block] @ u.T
        pos = _greedy_block(cos, tie_tol)
        chosen[start : start + len(cos)] = avail[pos]
        keep = torch.ones(len(avail), dtype=torch.bool)
        keep[pos] = False
        avail, u = avail[keep], u[keep]
    match = torch.empty(n, dtype=torch.long)
    match[y_order] = x_order[chosen]
    return match


def _first_within(row: Tensor, tie_tol: float) -> int:
    """The first column whose value is within ``tie_tol`` of the row's maximum."""
    return int(torch.argmax((row >= row.max() - tie_tol).to(torch.uint8)))


def _greedy_block(cos: Tensor, tie_tol: float) -> Tensor:
    """Sequential greedy choice for one block of rows over the columns still available.

    Every row's choice is first computed as if no row of this block had chosen yet (vectorised);
    it stays valid unless this block already took the row's maximum or its choice, in which case
    the row is recomputed with those columns masked. The result equals the row-by-row algorithm.
    """
    best, arg_best = cos.max(dim=1)
    first = torch.argmax((cos >= (best - tie_tol)[:, None]).to(torch.uint8), dim=1)
    out = first.clone()
    used: set[int] = set()
    arg_best_l, first_l = arg_best.tolist(), first.tolist()
    for r in range(len(cos)):
        j = first_l[r]
        if j in used or arg_best_l[r] in used:
            row = cos[r]
            row[list(used)] = float("-inf")
            j = _first_within(row, tie_tol)
            out[r] = j
        used.add(j)
    return out


def pair(y: Tensor, x: Tensor, tie_tol: float = 0.0, block: int = 256) -> Tensor:
    """The GTN pairing of Gaussian draws ``y`` with data ``x`` (same count, same dimension)."""
    if y.reshape(len(y), -1).shape[1] == 1:
        return sort_pairing(y, x)
    return greedy_cosine_pairing(y, x, tie_tol, block)


def pairing_stats(y: Tensor, x_matched: Tensor) -> dict[str, float]:
    """Spearman rank correlation of the norms and the mean cosine of matched pairs."""
    y2, x2 = y.reshape(len(y), -1).double(), x_matched.reshape(len(x_matched), -1).double()
    rho = spearmanr(y2.norm(dim=1).numpy(), x2.norm(dim=1).numpy()).statistic
    cos = torch.nn.functional.cosine_similarity(y2, x2, dim=1, eps=1e-12).mean()
    return {"spearman_norms": float(rho) if math.isfinite(rho) else float("nan"), "mean_cosine": float(cos)}

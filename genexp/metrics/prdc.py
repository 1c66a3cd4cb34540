"""Precision, recall, density and coverage of generated features against real ones, from one set
of k-nearest-neighbour balls (Kynkäänniemi et al. 2019; Naeem et al. 2020).

With real features X (N rows), generated Y (M rows) and NND_k(v) the distance from v to its k-th
nearest neighbour in its own set (itself excluded):

- precision: share of Y inside some ball B(X_i, NND_k(X_i)) (``d <= r``, k = ``k_pr``);
- recall: share of X inside some ball B(Y_j, NND_k(Y_j)) (``d <= r``, k = ``k_pr``);
- density: (1 / kM) sum_j #{i : d(X_i, Y_j) < NND_k(X_i)} (k = ``k_dc``);
- coverage: share of X whose ball B(X_i, NND_k(X_i)) holds some Y_j (``d < r``, k = ``k_dc``).

Precision/recall use ``<=`` as torch-fidelity (and Kynkäänniemi et al.'s code) do, so they equal
``metric=prd``'s numbers; density/coverage use ``<`` as Naeem et al.'s reference code does, so
identical sets give density 1 exactly (each real ball then holds its twin and k - 1 neighbours).
Distances are computed in float64 (float32's ``|x|^2 + |y|^2 - 2 x.y`` loses the small distances
of features with a large common offset; Naeem et al.'s code gets float64 accuracy from
scikit-learn), in row chunks of ``chunk`` (memory ``chunk x max(N, M)``): 10k x 10k 256-d
features take about 20 s on one thread of this 2-core CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _as_matrix(x: Tensor, what: str) -> Tensor:
    x = torch.as_tensor(x).detach().cpu().double()
    if x.dim() != 2:
        raise ValueError(f"{what} features must be an (n, d) matrix, got shape {tuple(x.shape)}")
    return x


def knn_radii(x: Tensor, ks: tuple[int, ...], chunk: int = 1024) -> dict[int, Tensor]:
    """``{k: distance from each row of x to its k-th nearest other row}`` for every k in ``ks``."""
    kmax = max(ks)
    if len(x) <= kmax:
        raise ValueError(f"need more than k = {kmax} feature rows for k-NN balls, got {len(x)}")
    parts = []
    for block in x.split(chunk):
        # the smallest distance of a row is to itself (0): the k-th neighbour is the (k+1)-th value
        parts.append(torch.cdist(block, x).topk(kmax + 1, dim=1, largest=False).values)
    nearest = torch.cat(parts)
    return {k: nearest[:, k] for k in ks}


def precision_recall_density_coverage(
    real: Tensor, fake: Tensor, k_pr: int = 3, k_dc: int = 5, chunk: int = 1024
) -> dict[str, float]:
    """``precision``, ``recall`` (k = ``k_pr``), ``density`` and ``coverage`` (k = ``k_dc``) of the
    generated features ``fake`` (M, d) against the real features ``real`` (N, d)."""
    real, fake = _as_matrix(real, "real"), _as_matrix(fake, "generated")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: real {real.shape[1]}, generated {fake.shape[1]}")
    if k_pr < 1 or k_dc < 1:
        raise ValueError(f"k must be >= 1, got k_pr={k_pr}, k_dc={k_dc}")
    real_r = knn_radii(real, (k_pr, k_dc), chunk)
    fake_r = knn_radii(fake, (k_pr,), chunk)[k_pr]
    fake_in_real = torch.zeros(len(fake), dtype=torch.bool)
    real_in_fake, covered = [], []
    density_hits = 0
    for start in range(0, len(real), chunk):
        d = torch.cdist(real[start : start + chunk], fake)  # (chunk, M)
        r_pr = real_r[k_pr][start : start + chunk, None]
        r_dc = real_r[k_dc][start : start + chunk, None]
        fake_in_real |= (d <= r_pr).any(dim=0)
        real_in_fake.append((d <= fake_r[None, :]).any(dim=1))
        inside = d < r_dc
        density_hits += int(inside.sum())
        covered.append(inside.any(dim=1))
    return {
        "precision": fake_in_real.double().mean().item(),
        "recall": torch.cat(real_in_fake).double().mean().item(),
        "density": density_hits / (k_dc * len(fake)),
        "coverage": torch.cat(covered).double().mean().item(),
    }

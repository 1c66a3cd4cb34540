"""Clustering scores: Hungarian ACC, purity (the MPCC thesis' ACC), NMI and ARI."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def _as_labels(a) -> np.ndarray:
    arr = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a).reshape(-1)
    return arr.astype(np.int64)


def hungarian_accuracy(true, pred) -> float:
    """Accuracy under the best one-to-one cluster -> class map (scipy's linear_sum_assignment).

    With more clusters than classes, the unmatched clusters count as errors (VaDE's convention).
    """
    table = contingency_matrix(_as_labels(pred), _as_labels(true))  # clusters x classes
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def purity(true, pred) -> float:
    """Each cluster votes for its most frequent class (many-to-one); the MPCC code's ``cluster_acc``."""
    table = contingency_matrix(_as_labels(pred), _as_labels(true))
    return float(table.max(axis=1).sum() / table.sum())


def clustering_scores(true, pred) -> dict[str, float]:
    """``cluster_acc`` (Hungarian), ``cluster_purity``, ``cluster_nmi``, ``cluster_ari``."""
    t, p = _as_labels(true), _as_labels(pred)
    if len(t) != len(p) or len(t) == 0:
        raise ValueError(f"need equally many labels and predictions, got {len(t)} and {len(p)}")
    return {
        "cluster_acc": hungarian_accuracy(t, p),
        "cluster_purity": purity(t, p),
        "cluster_nmi": float(normalized_mutual_info_score(t, p)),
        "cluster_ari": float(adjusted_rand_score(t, p)),
    }

"""Anomaly-detection scores: AUROC and AUPRC with outliers as the positive class (label 1)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def outlier_labels(classes, outlier_classes: Iterable[int]) -> np.ndarray:
    """1 where the class is one of ``outlier_classes``, else 0."""
    arr = np.asarray(classes.detach().cpu() if hasattr(classes, "detach") else classes).reshape(-1)
    return np.isin(arr, list(outlier_classes)).astype(np.int64)


def anomaly_scores(scores, is_outlier) -> dict[str, float]:
    """``auroc`` (roc_auc_score) and ``auprc`` (average_precision_score); higher score = more anomalous."""
    s = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64).reshape(
        -1
    )
    y = np.asarray(is_outlier).reshape(-1).astype(np.int64)
    if len(s) != len(y):
        raise ValueError(f"{len(s)} scores for {len(y)} labels")
    if y.min() == y.max():
        raise ValueError("AUROC needs both inliers and outliers in the evaluated split")
    if not np.isfinite(s).all():
        raise ValueError("anomaly scores contain NaN or inf")
    return {"auroc": float(roc_auc_score(y, s)), "auprc": float(average_precision_score(y, s))}

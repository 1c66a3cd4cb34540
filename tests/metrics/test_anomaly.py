"""AUROC/AUPRC with outliers as the positive class, against scikit-learn and pairwise counting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from genexp.metrics.anomaly import anomaly_scores, outlier_labels


def pairwise_auroc(scores: np.ndarray, y: np.ndarray) -> float:
    """P(score_outlier > score_inlier) + 1/2 P(tie), by counting all pairs."""
    pos, neg = scores[y == 1], scores[y == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_auroc_auprc_match_references() -> None:
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 5, 300)
    y = outlier_labels(classes, [3])
    scores = rng.normal(size=300) + 1.5 * y
    scores[:10] = 0.0  # ties
    out = anomaly_scores(scores, y)
    assert out["auroc"] == pytest.approx(roc_auc_score(y, scores))
    assert out["auroc"] == pytest.approx(pairwise_auroc(scores, y))
    assert out["auprc"] == pytest.approx(average_precision_score(y, scores))
    assert 0.8 < out["auroc"] < 0.97


def test_outlier_labels_and_perfect_separation() -> None:
    y = outlier_labels(np.array([0, 1, 2, 1, 0]), [1, 2])
    assert y.tolist() == [0, 1, 1, 1, 0]
    assert anomaly_scores(np.array([0.1, 5, 6, 7, 0.2]), y) == pytest.approx({"auroc": 1.0, "auprc": 1.0})
    assert anomaly_scores(np.array([9, 1, 2, 3, 8.0]), y)["auroc"] == pytest.approx(0.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="AUROC needs both inliers and outliers"):
        anomaly_scores(np.array([1.0, 2.0]), np.array([0, 0]))
    with pytest.raises(ValueError, match="NaN"):
        anomaly_scores(np.array([1.0, np.nan]), np.array([0, 1]))
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        anomaly_scores(np.array([1.0, 2.0, 3.0]), np.array([0, 1]))


def test_tensor_and_column_inputs() -> None:
    """Scores that still require grad, (n, 1) columns and (1, n) rows give the flat NumPy result."""
    classes = torch.tensor([[0], [1], [2], [1], [0]])
    y = outlier_labels(classes, [1, 2])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 1, 0]
    scores = torch.tensor([[0.1], [5.0], [0.15], [7.0], [0.2]], requires_grad=True)
    out = anomaly_scores(scores, y)
    assert out == anomaly_scores(np.array([0.1, 5.0, 0.15, 7.0, 0.2]), y)
    assert anomaly_scores(scores.reshape(1, 5), y.reshape(1, 5)) == out  # any shape is flattened
    assert out["auroc"] == pytest.approx(5 / 6)  # 0.15 beats one of the inliers 0.1, 0.2: 5 of 6 pairs

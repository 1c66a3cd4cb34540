"""Clustering scores: Hungarian ACC against brute force over permutations, purity by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from genexp.metrics.clustering import clustering_scores, hungarian_accuracy, purity


def brute_force_acc(true: np.ndarray, pred: np.ndarray, k: int) -> float:
    """max over all one-to-one maps cluster -> class of the matched fraction."""
    return max(np.mean(np.array(perm)[pred] == true) for perm in itertools.permutations(range(k)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hungarian_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 5, size=200)
    pred = np.where(rng.random(200) < 0.6, (true * 3 + 1) % 5, rng.integers(0, 5, size=200))
    assert hungarian_accuracy(true, pred) == pytest.approx(brute_force_acc(true, pred, 5), abs=1e-12)


def test_permuted_perfect_clustering_scores_one() -> None:
    true = np.repeat(np.arange(4), 25)
    pred = (true + 2) % 4
    scores = clustering_scores(true, pred)
    assert scores == pytest.approx(
        {"cluster_acc": 1.0, "cluster_purity": 1.0, "cluster_nmi": 1.0, "cluster_ari": 1.0}
    )


def test_purity_by_hand_and_many_to_one() -> None:
    # clusters: 0 -> classes [0,0,0,1] ; 1 -> [1,1,2] ; 2 -> [2,2,0]
    true = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0])
    pred = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert purity(true, pred) == pytest.approx((3 + 2 + 2) / 10)
    # two clusters of one class: purity counts both, Hungarian only one
    true2 = np.array([0, 0, 0, 0, 1, 1])
    pred2 = np.array([0, 0, 1, 1, 2, 2])
    assert purity(true2, pred2) == pytest.approx(1.0)
    assert hungarian_accuracy(true2, pred2) == pytest.approx(4 / 6)


def test_nmi_ari_match_sklearn() -> None:
    rng = np.random.default_rng(5)
    true, pred = rng.integers(0, 3, 90), rng.integers(0, 4, 90)
    scores = clustering_scores(true, pred)
    assert scores["cluster_nmi"] == pytest.approx(normalized_mutual_info_score(true, pred))
    assert scores["cluster_ari"] == pytest.approx(adjusted_rand_score(true, pred))
    with pytest.raises(ValueError, match=r"^need equally many labels and predictions, got 90 and 89$"):
        clustering_scores(true, pred[:-1])


def test_labels_of_any_shape_and_a_single_pair() -> None:
    true, pred = np.array([[0], [0], [1], [1]]), np.array([1, 1, 0, 1])  # a column is flattened
    assert clustering_scores(true, pred)["cluster_acc"] == pytest.approx(0.75)
    assert clustering_scores([2], [0])["cluster_acc"] == 1.0
    with pytest.raises(ValueError, match=r"got 0 and 0$"):
        clustering_scores([], [])

"""Precision, recall, density and coverage: identical sets, far-apart sets, a case computed by
hand, and torch-fidelity's precision/recall on the same features."""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

from genexp.metrics.prdc import knn_radii, precision_recall_density_coverage


def features(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_identical_sets_score_one() -> None:
    x = features(200, 8, 0)
    out = precision_recall_density_coverage(x, x.clone(), k_pr=3, k_dc=5)
    # each real ball holds its twin and its k - 1 nearer neighbours: density is exactly 1
    assert out == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_far_apart_sets_score_zero() -> None:
    out = precision_recall_density_coverage(features(150, 8, 0), features(120, 8, 1) + 100.0)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_one_dimensional_case_computed_by_hand() -> None:
    real = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    fake = torch.tensor([[0.5], [2.9], [20.0]])
    # 1st-NN radii: real 1, 1, 2, 4; fake 2.4, 2.4, 17.1. 2nd-NN radii of real: 3, 2, 3, 6.
    assert knn_radii(real, (1, 2))[1].tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(real, (1, 2))[2].tolist() == [3.0, 2.0, 3.0, 6.0]
    k1 = precision_recall_density_coverage(real, fake, k_pr=1, k_dc=1)
    # precision: 0.5 (by 0) and 2.9 (by 3) are inside a real ball, 20 is not -> 2/3
    # recall: every real point is inside a fake ball (7 inside 20's radius-17.1 ball) -> 1
    # density: 0.5 lies in the balls of 0 and 1, 2.9 in that of 3, 20 in none -> 3 / (1 * 3)
    # coverage: the balls of 0, 1 and 3 hold a fake point, 7's (radius 4; 2.9 at 4.1) does not
    assert k1 == pytest.approx({"precision": 2 / 3, "recall": 1.0, "density": 1.0, "coverage": 0.75})
    k2 = precision_recall_density_coverage(real, fake, k_pr=1, k_dc=2)
    # density: 0.5 in the balls of 0, 1, 3; 2.9 in all four; 20 in none -> 7 / (2 * 3)
    assert k2["density"] == pytest.approx(7 / 6) and k2["coverage"] == 1.0
    assert k2["precision"] == k1["precision"] and k2["recall"] == k1["recall"]


def test_precision_recall_equal_torch_fidelity() -> None:
    real, fake = features(300, 16, 2), 1.2 * features(250, 16, 3) + 0.3
    ours = precision_recall_density_coverage(real, fake, k_pr=3, k_dc=5, chunk=64)
    ref = prc_features_to_metric(
        fake, real, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    assert 0.2 < ours["precision"] < 0.9 and 0.5 < ours["recall"] < 1.0  # neither trivial end
    assert ours["precision"] == pytest.approx(ref["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], abs=1e-6)
    assert ours == precision_recall_density_coverage(real, fake, k_pr=3, k_dc=5, chunk=1000)


def test_bad_inputs_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="more than k = 5"):
        precision_recall_density_coverage(features(5, 2, 0), features(50, 2, 1))
    with pytest.raises(ValueError, match="feature sizes differ"):
        precision_recall_density_coverage(features(50, 2, 0), features(50, 3, 1))
    with pytest.raises(ValueError, match=r"\(n, d\) matrix"):
        precision_recall_density_coverage(torch.zeros(50), features(50, 1, 1))


def test_points_on_a_ball_boundary_count_for_precision_recall_only() -> None:
    real = torch.tensor([[0.0], [1.0], [3.0], [7.0]])  # 1st-NN radii 1, 1, 2, 4
    fake = torch.tensor([[-1.0], [-3.0]])  # 1st-NN radii 2, 2
    # -1 lies on the ball of 0 (d = r = 1) and 1 on the ball of -1 (d = r = 2): inside for
    # precision/recall (<=), outside for density/coverage (<); 0 is strictly inside -1's ball
    out = precision_recall_density_coverage(real, fake, k_pr=1, k_dc=1)
    assert out == {"precision": 0.5, "recall": 0.5, "density": 0.0, "coverage": 0.0}


def test_knn_radii_with_exactly_k_plus_one_rows() -> None:
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, (3,))[3].tolist() == [7.0, 6.0, 4.0, 7.0]
    with pytest.raises(ValueError, match="more than k = 4 feature rows"):
        knn_radii(x, (4,))


def test_default_ks_are_three_and_five() -> None:
    real, fake = features(60, 4, 8), 1.3 * features(50, 4, 9)
    default = precision_recall_density_coverage(real, fake)
    assert default == precision_recall_density_coverage(real, fake, k_pr=3, k_dc=5)
    assert default != precision_recall_density_coverage(real, fake, k_pr=4, k_dc=5)


def test_errors_name_the_bad_set_and_k() -> None:
    with pytest.raises(ValueError, match=r"^real features must be an \(n, d\) matrix"):
        precision_recall_density_coverage(torch.zeros(50), features(50, 1, 1))
    with pytest.raises(ValueError, match=r"^generated features must be an \(n, d\) matrix"):
        precision_recall_density_coverage(features(50, 1, 1), torch.zeros(50))
    for k_pr, k_dc in ((0, 5), (3, 0)):
        with pytest.raises(ValueError, match="k must be >= 1"):
            precision_recall_density_coverage(features(50, 2, 0), features(50, 2, 1), k_pr, k_dc)

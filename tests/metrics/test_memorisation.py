"""The nearest-neighbour memorisation metric: pure function on hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch

from genexp.metrics.memorisation import memorisation_scores, nearest_distance


def test_nearest_distance_matches_brute_force() -> None:
    gen = torch.Generator().manual_seed(0)
    x, ref = torch.randn(37, 2, 3, generator=gen), torch.randn(50, 6, generator=gen)
    brute = ((x.reshape(37, 1, 6).double() - ref.double()) ** 2).sum(-1).sqrt().min(1).values
    assert torch.allclose(nearest_distance(x, ref, block=8), brute)


def test_copies_of_training_points_give_ratio_zero() -> None:
    gen = torch.Generator().manual_seed(1)
    train, test = torch.randn(400, 10, generator=gen), torch.randn(400, 10, generator=gen)
    scores = memorisation_scores(train[:300], train, test, block=64)
    assert scores["memorisation_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert scores["nn_train_dist"] == pytest.approx(0.0, abs=1e-6)
    assert scores["nn_test_dist"] > 1.0
    assert scores["memorisation_frac_closer_train"] == 1.0


def test_fresh_samples_of_the_same_distribution_give_ratio_one() -> None:
    gen = torch.Generator().manual_seed(2)
    train, test, samples = (torch.randn(2000, 5, generator=gen) for _ in range(3))
    scores = memorisation_scores(samples, train, test)
    assert scores["memorisation_ratio"] == pytest.approx(1.0, abs=0.03)
    assert scores["memorisation_frac_closer_train"] == pytest.approx(0.5, abs=0.04)
    assert math.isfinite(scores["nn_test_dist"])


def test_reference_sets_must_have_equal_size() -> None:
    with pytest.raises(ValueError, match="same size"):
        memorisation_scores(torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(5, 2))


def test_ratio_is_nan_when_every_sample_is_a_test_point() -> None:
    test, train = torch.zeros(3, 2), torch.ones(3, 2)
    out = memorisation_scores(test.clone(), train, test)
    assert math.isnan(out["memorisation_ratio"]) and out["nn_test_dist"] == 0.0


def test_a_tie_does_not_count_as_closer_to_train() -> None:
    samples = torch.zeros(2, 1)
    out = memorisation_scores(samples, torch.tensor([[1.0], [5.0]]), torch.tensor([[-1.0], [7.0]]))
    assert out["memorisation_frac_closer_train"] == 0.0 and out["memorisation_ratio"] == 1.0

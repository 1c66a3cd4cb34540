"""Mode histograms: the label range check and the empty-histogram error of the reverse KL."""

from __future__ import annotations

import pytest
import torch

from genexp.metrics.modes import mode_counts, reverse_kl_to_uniform


def test_mode_counts_accepts_exactly_the_labels_0_to_m_minus_1() -> None:
    assert mode_counts(torch.tensor([0, 2, 2]), 3).tolist() == [1, 0, 2]
    assert mode_counts(torch.tensor([], dtype=torch.long), 2).tolist() == [0, 0]
    for bad, got in (([-1, 0], r"\[-1, 0\]"), ([0, 3], r"\[0, 3\]")):  # one end out of range each
        with pytest.raises(ValueError, match=rf"^mode labels must lie in \[0, 3\); got {got}$"):
            mode_counts(torch.tensor(bad), 3)


def test_reverse_kl_of_an_empty_histogram_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^reverse KL needs at least one sample$"):
        reverse_kl_to_uniform(torch.zeros(4))

"""labelled_split: the (x, y) that label-using metrics (probe, clustering, anomaly) work on."""

from __future__ import annotations

import pytest
import torch

from genexp.callbacks.clustering_metrics import labelled_split


class _Splits:
    """A datamodule stand-in with fixed splits."""

    name = "stub"

    def __init__(self, **splits: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        self.splits = splits

    def get_data(self, split: str, n: int | None):
        x, y = self.splits[split]
        return (x[:n], None if y is None else y[:n]) if n else (x, y)


def test_unlabelled_rows_are_left_out_and_the_rest_keep_their_order() -> None:
    x = torch.arange(6.0).unsqueeze(1)
    dm = _Splits(train=(x, torch.tensor([3, -1, 1, -1, 0, 2])), test=(x[:2], torch.tensor([5, 4])))
    xs, ys = labelled_split(dm, ["train", "test"], None)
    assert ys.tolist() == [3, 1, 0, 2, 5, 4]
    assert xs.squeeze(1).tolist() == [0.0, 2.0, 4.0, 5.0, 0.0, 1.0]
    xs, ys = labelled_split(dm, ["train"], 3)  # the first n rows, then their labelled ones
    assert ys.tolist() == [3, 1]


def test_splits_without_labels_or_without_labelled_rows_are_refused() -> None:
    x = torch.zeros(3, 1)
    with pytest.raises(ValueError, match="has no labels"):
        labelled_split(_Splits(train=(x, None)), ["train"], None)
    with pytest.raises(ValueError, match="no labelled rows"):
        labelled_split(_Splits(train=(x, torch.full((3,), -1))), ["train"], None)

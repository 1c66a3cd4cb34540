"""The label protocols of image datamodules: classes held out of training (novelty detection) and
only the first n training labels kept (semi-supervised learning)."""

from __future__ import annotations

import pytest
import torch

from genexp.data.digits import DigitsDataModule
from genexp.data.label_protocols import UNLABELLED
from genexp.errors import ConfigError


def test_outlier_classes_leave_train_and_val_but_not_test() -> None:
    full = DigitsDataModule(seed=0, val_size=100)
    held = DigitsDataModule(seed=0, val_size=100, outlier_classes=[3, 7])
    assert held.outlier_classes == [3, 7] and full.outlier_classes is None
    for split in ("train", "val"):
        x_full, y_full = full.split(split)
        x, y = held.split(split)
        keep = (y_full != 3) & (y_full != 7)
        assert torch.equal(y, y_full[keep]) and torch.equal(x, x_full[keep])
        assert not torch.isin(y, torch.tensor([3, 7])).any()
    assert torch.equal(held.split("test")[1], full.split("test")[1])
    assert int(torch.isin(held.split("test")[1], torch.tensor([3, 7])).sum()) > 0


def test_outlier_classes_keep_a_test_split_used_as_val() -> None:
    dm = DigitsDataModule(seed=0, outlier_classes=[3])  # val_size 0: val is the test split
    assert dm.split("val")[1] is dm.split("test")[1]
    assert (dm.split("val")[1] == 3).any()


def test_labelled_hides_every_label_after_the_first_n() -> None:
    full = DigitsDataModule(seed=1, val_size=100)
    dm = DigitsDataModule(seed=1, val_size=100, labelled=50)
    y_full, y = full.split("train")[1], dm.split("train")[1]
    assert torch.equal(y[:50], y_full[:50])
    assert (y[50:] == UNLABELLED).all() and len(y) == len(y_full)
    assert torch.equal(dm.split("val")[1], full.split("val")[1])
    assert torch.equal(dm.split("test")[1], full.split("test")[1])
    assert (full.split("train")[1] >= 0).all()  # the full set's labels are untouched


def test_bad_protocol_values_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="outside 0..9"):
        DigitsDataModule(outlier_classes=[10])
    with pytest.raises(ConfigError, match="every class"):
        DigitsDataModule(outlier_classes=list(range(10)))
    with pytest.raises(ConfigError, match="include_test_in_train"):
        DigitsDataModule(outlier_classes=[1], include_test_in_train=True)
    with pytest.raises(ConfigError, match="labelled=100000"):
        DigitsDataModule(labelled=100000).setup()

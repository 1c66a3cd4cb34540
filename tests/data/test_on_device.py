"""``dataset.on_device``: the loaders copy the stored splits to the trainer's device once and draw
batches there. On the CPU the same code path runs with the CPU as the device: its batches, their
order per epoch and its mid-epoch resume must equal the host loader's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from helpers.model_steps import train_model_steps
from helpers.trainers import bare_trainer
from test_images import fake_mnist

from genexp.data.base import AUTO_ON_DEVICE_MAX_BYTES, TensorBatchLoader, fits_on_device
from genexp.data.digits import DigitsDataModule
from genexp.data.lightcurves import SyntheticLightCurves
from genexp.data.stacked_mnist import StackedMNISTDataModule
from genexp.data.toy2d import Toy2DDataModule
from genexp.errors import ConfigError

CPU = torch.device("cpu")


def digits(**kw: Any) -> DigitsDataModule:
    return DigitsDataModule(batch_size=64, eval_batch_size=100, seed=3, **kw)


def ring8(**kw: Any) -> Toy2DDataModule:
    return Toy2DDataModule("ring8", n_train=300, n_val=120, n_test=120, batch_size=50, seed=1, **kw)


def lightcurves(**kw: Any) -> SyntheticLightCurves:
    return SyntheticLightCurves(
        name="lc", shape=(5, 60), num_classes=5, num_inlier_classes=4, n_per_class=12, min_len=20,
        batch_size=8, seed=2, **kw,
    )  # fmt: skip


def stacked(tmp_path: Path, **kw: Any) -> StackedMNISTDataModule:
    fake_mnist(tmp_path)
    return StackedMNISTDataModule(str(tmp_path), n_train=200, n_val=50, n_test=50, batch_size=32, **kw)


FACTORIES = {
    "digits": lambda tmp, **kw: digits(**kw),
    "ring8": lambda tmp, **kw: ring8(**kw),
    "lightcurves": lambda tmp, **kw: lightcurves(**kw),  # class-balanced BalancedBatchLoader
    "stacked_mnist": stacked,  # decodes index triples through the digits it copies too
}


def attach(dm: Any, tmp_path: Path) -> Any:
    """Give the datamodule a CPU trainer, as Lightning does before asking for loaders."""
    dm.trainer = bare_trainer(tmp_path)
    dm.setup()
    return dm


def epochs(loader: TensorBatchLoader, n: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [batch for _ in range(n) for batch in loader]


def assert_same(a: list, b: list) -> None:
    assert len(a) == len(b) > 0
    for (xa, ya), (xb, yb) in zip(a, b):
        assert xa.dtype == xb.dtype and torch.equal(xa, xb) and torch.equal(ya, yb)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_on_device_batches_equal_the_host_batches(name: str, tmp_path: Path) -> None:
    host = attach(FACTORIES[name](tmp_path / "a", on_device=False), tmp_path)
    dev = attach(FACTORIES[name](tmp_path / "b", on_device=True), tmp_path)
    assert host.batch_device() is None and dev.batch_device() == CPU
    assert_same(epochs(host.train_dataloader()), epochs(dev.train_dataloader()))  # two epochs: two orders
    assert_same(epochs(host.val_dataloader(), 1), epochs(dev.val_dataloader(), 1))
    assert_same(epochs(host.test_dataloader(), 1), epochs(dev.test_dataloader(), 1))
    assert dev._device_copies and not host._device_copies


def test_the_stored_splits_are_copied_once_and_shared_by_the_loaders(tmp_path: Path) -> None:
    dm = attach(digits(on_device=True), tmp_path)
    first = dm.train_dataloader()
    copies = dict(dm._device_copies)
    again, val, test = dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()
    assert again._x is first._x and again._y is first._y  # a second fit reuses the copy
    assert val._x is test._x  # digits: val is the test split, one copy for both
    assert set(dm._device_copies) == set(copies) | {
        (id(dm.split("test")[0]), "cpu"),
        (id(dm.split("test")[1]), "cpu"),
    }


def test_auto_keeps_the_batches_on_the_host_on_the_cpu(tmp_path: Path) -> None:
    assert attach(digits(), tmp_path).batch_device() is None  # the default is auto
    assert digits(on_device=True).batch_device() is None  # no trainer yet: nothing to copy to
    assert fits_on_device(AUTO_ON_DEVICE_MAX_BYTES, torch.device("meta"))
    assert not fits_on_device(AUTO_ON_DEVICE_MAX_BYTES + 1, torch.device("meta"))
    with pytest.raises(ConfigError, match="dataset.on_device must be true, false or auto"):
        digits(on_device="gpu")


def test_an_on_device_loader_resumes_mid_epoch_like_the_host_loader(tmp_path: Path) -> None:
    host = attach(digits(on_device=False), tmp_path).train_dataloader()
    host.progress = None  # count the yielded batches, as without a trainer loop
    it = iter(host)
    for _ in range(3):
        next(it)
    state = host.state_dict()
    assert state == {"epoch": 0, "consumed": 3}
    rest = list(it) + epochs(host, 1)  # the rest of epoch 0, then epoch 1

    dev = attach(digits(on_device=True), tmp_path / "b").train_dataloader()
    dev.load_state_dict(state)
    assert_same(rest, epochs(dev, 2))  # the resumed rest of epoch 0, then epoch 1


def test_a_fit_with_on_device_data_takes_the_steps_of_a_host_fit(tmp_path: Path) -> None:
    host = train_model_steps("vae", tmp_path / "a", "dataset.on_device=false", steps=3)
    dev = train_model_steps("vae", tmp_path / "b", "dataset.on_device=true", steps=3)
    assert host.trainer.datamodule.batch_device() is None
    assert dev.trainer.datamodule.batch_device() == CPU and dev.trainer.datamodule._device_copies
    assert len(host.losses) == 3 and dev.losses == host.losses

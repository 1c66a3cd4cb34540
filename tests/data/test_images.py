"""Image datamodules on small files written in each dataset's official on-disk format."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.image_files import fake_celeba, fake_cifar10, fake_mnist, fake_stl10

from genexp.data.digits import DigitsDataModule
from genexp.data.images import fit_size, range_to_uint8, uint8_to_range
from genexp.data.stacked_mnist import StackedMNISTDataModule
from genexp.data.torchvision_sets import (
    MNIST_RAW_FILES,
    CelebADataModule,
    CIFAR10DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    STL10DataModule,
)
from genexp.errors import ConfigError, DataError

REAL_DATA = Path(__file__).resolve().parents[2] / "data"


# ---------------------------------------------------------------------------------- MNIST-like
def test_mnist_splits_and_decode(tmp_path):
    data = fake_mnist(tmp_path)
    dm = MNISTDataModule(root=str(tmp_path), shape=[1, 28, 28], val_size=10, batch_size=8, seed=0)
    assert dm.kind == "image" and dm.num_classes == 10 and dm.value_range == (-1.0, 1.0)
    x_tr, _y_tr = dm.split("train")
    x_va, _y_va = dm.split("val")
    x_te, y_te = dm.split("test")
    assert x_tr.dtype == torch.uint8 and x_tr.shape == (40, 1, 28, 28)
    assert x_va.shape == (10, 1, 28, 28) and x_te.shape == (20, 1, 28, 28)
    # val is the last slice of the official train split, test the official test split
    assert torch.equal(x_va[:, 0], torch.as_tensor(data["train"][0][40:], dtype=torch.uint8))
    assert torch.equal(y_te, torch.as_tensor(data["t10k"][1]))
    xf, _yf = dm.get_data("train", n=5)
    assert xf.dtype == torch.float32 and xf.min() >= -1 and xf.max() <= 1
    assert torch.allclose(xf, x_tr[:5].float() / 127.5 - 1, atol=1e-6)
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (8, 1, 28, 28) and xb.dtype == torch.float32 and yb.shape == (8,)


def test_mnist_split_options(tmp_path):
    fake_mnist(tmp_path)
    dm = MNISTDataModule(root=str(tmp_path), val_size=0, n_train=30, include_test_in_train=True)
    assert dm.split("train")[0].shape[0] == 30 + 20
    assert dm.split("val")[0] is dm.split("test")[0]
    a = MNISTDataModule(root=str(tmp_path), val_size=10, val_seed=1).split("val")[1]
    b = MNISTDataModule(root=str(tmp_path), val_size=10).split("val")[1]
    assert not torch.equal(a, b)
    with pytest.raises(ConfigError, match="val_size"):
        MNISTDataModule(root=str(tmp_path), val_size=50).setup()


def test_mnist_resize_to_32_and_value_range(tmp_path):
    fake_mnist(tmp_path)
    dm = MNISTDataModule(root=str(tmp_path), image_size=32, shape=[1, 32, 32], value_range=[0, 1], val_size=5)
    x, _ = dm.get_data("test")
    assert x.shape == (20, 1, 32, 32) and x.min() >= 0 and x.max() <= 1
    with pytest.raises(ConfigError, match="shape"):
        MNISTDataModule(root=str(tmp_path), image_size=32, shape=[1, 28, 28])
    with pytest.raises(ConfigError, match="value_range"):
        MNISTDataModule(root=str(tmp_path), value_range=[1, 0])


def test_mnist_missing_files_message(tmp_path):
    dm = MNISTDataModule(root=str(tmp_path))
    with pytest.raises(DataError) as err:
        dm.setup()
    msg = str(err.value)
    assert "\n" not in msg and "make assets" in msg and "dataset.download=true" in msg
    assert str(tmp_path / "MNIST" / "raw" / MNIST_RAW_FILES[0]) in msg


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    fake_mnist(tmp_path, folder="FashionMNIST", n_train=30, n_test=10)
    dm = FashionMNISTDataModule(root=str(tmp_path), val_size=5)
    assert dm.name == "fashion_mnist" and dm.split("train")[0].shape == (25, 1, 28, 28)
    with pytest.raises(DataError, match="zalandoresearch"):
        FashionMNISTDataModule(root=str(tmp_path / "none")).setup()


# ------------------------------------------------------------------------------------- CIFAR-10
def test_cifar10_loads_pickled_batches(tmp_path):
    first = fake_cifar10(tmp_path)
    dm = CIFAR10DataModule(root=str(tmp_path), verify_integrity=False, val_size=6)
    x, y = dm.split("train")
    assert x.shape == (24, 3, 32, 32) and x.dtype == torch.uint8 and x.is_contiguous()
    assert torch.equal(x[0], torch.as_tensor(first[0]).reshape(3, 32, 32))
    assert dm.split("test")[0].shape == (6, 3, 32, 32) and y.dtype == torch.long


def test_cifar10_md5_check_and_missing(tmp_path):
    fake_cifar10(tmp_path)
    with pytest.raises(DataError, match="verify_integrity=false"):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    with pytest.raises(DataError, match="cifar.html"):
        CIFAR10DataModule(root=str(tmp_path / "empty"), verify_integrity=False).setup()


# -------------------------------------------------------------------------------------- STL-10
def test_stl10_orientation_split_and_resize(tmp_path):
    img = fake_stl10(tmp_path)
    dm = STL10DataModule(root=str(tmp_path), image_size=48, verify_integrity=False, val_size=2)
    x, y = dm.split("train")
    assert x.shape == (8, 3, 48, 48)  # 4 train + 6 unlabeled - 2 val
    assert y[:4].tolist() == [0, 1, 2, 3] and (y[4:] == -1).all()
    expected = fit_size(torch.as_tensor(img)[None], 48)[0]
    assert torch.equal(x[0], expected) and x[0, 0, :, :20].min() == 255 and x[0, 0, :, 30:].max() == 0
    x_te, y_te = dm.split("test")
    assert x_te.shape == (3, 3, 48, 48) and (y_te == 9).all()
    only_train = STL10DataModule(
        root=str(tmp_path), image_size=48, verify_integrity=False, split="train", val_size=0
    )
    assert only_train.split("train")[0].shape[0] == 4
    with pytest.raises(DataError, match="md5"):
        STL10DataModule(root=str(tmp_path), image_size=48).setup()


def test_stl10_cache_is_reused(tmp_path, monkeypatch):
    fake_stl10(tmp_path)
    kwargs = {
        "root": str(tmp_path),
        "image_size": 48,
        "verify_integrity": False,
        "val_size": 2,
        "cache_dir": str(tmp_path / "cache"),
    }
    first = STL10DataModule(**kwargs).split("train")[0]
    cached = list((tmp_path / "cache" / "datasets").glob("*.pt"))
    assert len(cached) == 1 and "train+unlabeled" in cached[0].name

    def boom(self):
        raise AssertionError("cache not used")

    monkeypatch.setattr(STL10DataModule, "read_official", boom)
    assert torch.equal(STL10DataModule(**kwargs).split("train")[0], first)


# -------------------------------------------------------------------------------------- CelebA
def test_celeba_partition_crop_resize(tmp_path):
    fake_celeba(tmp_path)
    dm = CelebADataModule(root=str(tmp_path), image_size=16, crop_size=24, verify_integrity=False)
    assert dm.shape == (3, 16, 16) and dm.num_classes is None
    assert [dm.split(s)[0].shape[0] for s in ("train", "val", "test")] == [3, 2, 2]
    x, y = dm.get_data("train")
    assert y is None and x.shape == (3, 3, 16, 16)
    # flat colours survive JPEG, crop and resize: image 2 is (40, 100, 200)
    colour = dm.split("train")[0][2].float().mean(dim=(1, 2))
    assert torch.allclose(colour, torch.tensor([40.0, 100.0, 200.0]), atol=3)
    with pytest.raises(DataError, match="md5"):
        CelebADataModule(root=str(tmp_path), image_size=16, crop_size=24).setup()


def test_celeba_missing_names_folder(tmp_path):
    with pytest.raises(DataError, match="celeba"):
        CelebADataModule(root=str(tmp_path), verify_integrity=False).setup()


# -------------------------------------------------------------------------------------- digits
def test_digits_seeded_split_and_range():
    dm = DigitsDataModule(seed=0, value_range=[0, 1])
    assert dm.shape == (1, 8, 8)
    x_tr, y_tr = dm.get_data("train")
    x_te, _ = dm.get_data("test")
    assert x_tr.shape == (1500, 1, 8, 8) and x_te.shape == (297, 1, 8, 8)
    assert x_tr.min() == 0 and x_tr.max() == 1  # 16 -> 1
    assert torch.equal(DigitsDataModule(seed=0).split("train")[1], y_tr)
    assert not torch.equal(DigitsDataModule(seed=1).split("train")[1], y_tr)
    assert dm.split("val")[0] is dm.split("test")[0]


# ------------------------------------------------------------------------------- stacked MNIST
def test_stacked_mnist_labels_and_composition(tmp_path):
    fake_mnist(tmp_path, n_train=40, n_test=20)
    dm = StackedMNISTDataModule(root=str(tmp_path), n_train=64, n_val=16, n_test=16, batch_size=8, seed=1)
    idx, labels = dm.split("train")
    assert idx.shape == (64, 3) and idx.max() < 40
    d = dm.digit_labels
    assert torch.equal(labels, 100 * d[idx[:, 0]] + 10 * d[idx[:, 1]] + d[idx[:, 2]])
    assert labels.max() < 1000 and dm.num_classes == 1000
    assert dm.split("test")[0].min() >= 40  # test triples use the MNIST test digits
    x, _ = dm.get_data("train", n=4)
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    for c in range(3):
        assert torch.equal(dm.to_uint8(x[:, c]), dm.digits[idx[:4, c]])
    xb, _yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (8, 3, 32, 32)
    again = StackedMNISTDataModule(root=str(tmp_path), n_train=64, n_val=16, n_test=16, seed=1)
    assert torch.equal(again.split("train")[0], idx)
    with pytest.raises(DataError, match="make assets"):
        StackedMNISTDataModule(root=str(tmp_path / "none")).setup()


# ------------------------------------------------------------------------------------- helpers
def test_decode_and_encode_ranges():
    x = torch.tensor([0, 128, 255], dtype=torch.uint8)
    assert uint8_to_range(x, (-1, 1)).tolist() == pytest.approx([-1.0, 128 / 127.5 - 1, 1.0], abs=1e-6)
    assert uint8_to_range(x, (0, 1)).tolist() == pytest.approx([0.0, 128 / 255, 1.0], abs=1e-6)
    assert uint8_to_range(torch.tensor([16], dtype=torch.uint8), (0, 1), max_value=16).item() == 1.0
    assert torch.equal(range_to_uint8(uint8_to_range(x, (-1, 1)), (-1, 1)), x)
    assert range_to_uint8(torch.tensor([-3.0, 3.0]), (-1, 1)).tolist() == [0, 255]


@pytest.mark.skipif(not (REAL_DATA / "MNIST" / "raw" / MNIST_RAW_FILES[0]).exists(), reason="run make assets")
def test_real_mnist_if_prepared():
    dm = MNISTDataModule(root=str(REAL_DATA))
    assert [dm.split(s)[0].shape[0] for s in ("train", "val", "test")] == [55_000, 5_000, 10_000]
    _x, y = dm.split("test")
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert abs(dm.split("train")[0].float().mean().item() / 255 - 0.1307) < 0.002

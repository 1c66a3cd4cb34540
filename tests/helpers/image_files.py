"""Small files written in each image dataset's official on-disk format (MNIST IDX, CIFAR-10
pickles, STL-10 binaries, the CelebA folder), for data, config and experiment tests."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def fake_mnist(root: Path, folder: str = "MNIST", n_train: int = 50, n_test: int = 20) -> dict:
    rng = np.random.default_rng(0)
    data = {
        "train": (rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10),
        "t10k": (rng.integers(0, 256, (n_test, 28, 28)), (np.arange(n_test) * 3) % 10),
    }
    for prefix, (x, y) in data.items():
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", x)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", y)
    return data


def fake_cifar10(root: Path, per_batch: int = 6) -> np.ndarray:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    first = None
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        first = data if first is None else first
        entry = {"batch_label": name, "data": data, "labels": [(i + j) % 10 for j in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{k}" for k in range(10)]}))
    return first


def fake_stl10(root: Path, n_train: int = 4, n_unlabeled: int = 6, n_test: int = 3) -> np.ndarray:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    # one recognisable image: left half bright in channel 0 (rows x cols as seen by a viewer)
    img = np.zeros((3, 96, 96), np.uint8)
    img[0, :, :48] = 255
    on_disk = img.transpose(0, 2, 1)  # STL-10 stores each channel column-major
    train = np.stack([on_disk] * n_train)
    (folder / "train_X.bin").write_bytes(train.tobytes())
    (folder / "train_y.bin").write_bytes(np.arange(1, n_train + 1, dtype=np.uint8).tobytes())
    (folder / "unlabeled_X.bin").write_bytes(np.zeros((n_unlabeled, 3, 96, 96), np.uint8).tobytes())
    (folder / "test_X.bin").write_bytes(np.stack([on_disk] * n_test).tobytes())
    (folder / "test_y.bin").write_bytes(np.full(n_test, 10, np.uint8).tobytes())
    return img


def fake_celeba(root: Path, partition: tuple[int, ...] = (0, 0, 0, 1, 1, 2, 2)) -> None:
    """A tiny CelebA folder (torchvision needs at least 2 images in every partition)."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    for i, name in enumerate(names):
        Image.new("RGB", (30, 40), (20 * i, 100, 200)).save(folder / "img_align_celeba" / name, quality=95)
    n = len(names)
    (folder / "list_eval_partition.txt").write_text("".join(f"{m} {p}\n" for m, p in zip(names, partition)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{m} {i}\n" for i, m in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{n}\nimage_id x_1 y_1 width height\n" + "".join(f"{m}    95  71 226 313\n" for m in names)
    )
    landmarks = (
        "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
        "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    )
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\n{landmarks}\n"
        + "".join(f"{m} 69  109  106  113   77  142   73  152  108  154\n" for m in names)
    )
    attrs = " ".join(f"attr{k}" for k in range(40))
    (folder / "list_attr_celeba.txt").write_text(
        f"{n}\n{attrs}\n" + "".join(f"{m} " + " ".join(["-1", " 1"] * 20) + "\n" for m in names)
    )

"""MNIST, Fashion-MNIST, CIFAR-10, STL-10 and CelebA, read through torchvision's dataset classes.

Integrity checks (``verify_integrity``): torchvision's CIFAR-10, STL-10 and CelebA classes compare
the md5 of the official files every time they load with ``download=False`` (MNIST and
Fashion-MNIST only check that the files exist). genexp keeps that check by default
(``verify_integrity: true``): a file that exists but is not the official one fails with a
:class:`DataError` that says so. ``verify_integrity: false`` loads through a subclass whose md5
list is replaced by ``None`` (torchvision's ``check_integrity(path, None)`` then only tests that
the file exists), for re-packed copies of the data and for the tests, which write small files in
exactly the official on-disk formats. With ``cache_dir`` set (STL-10 and CelebA configs do), the
check and the decoding run once; later runs read the converted tensors from the cache.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import torch
import torchvision.datasets as tvd
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2.functional import center_crop

from genexp.data.images import ImageDataModule, Split
from genexp.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MNIST_RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def presence_only(cls: type) -> type:
    """A subclass of torchvision dataset ``cls`` whose integrity check only tests that files exist."""
    attrs: dict[str, Any] = {}
    for key in ("train_list", "test_list"):
        if hasattr(cls, key):
            attrs[key] = [[fname, None] for fname, _ in getattr(cls, key)]
    if hasattr(cls, "meta"):
        attrs["meta"] = {**cls.meta, "md5": None}
    if hasattr(cls, "file_list"):
        attrs["file_list"] = [(fid, None, fname) for fid, _, fname in cls.file_list]
    return type(f"{cls.__name__}PresenceOnly", (cls,), attrs)


class TorchvisionDataModule(ImageDataModule):
    """An :class:`ImageDataModule` whose files are read by a torchvision dataset class."""

    tv_class: type = tvd.VisionDataset
    folder: str = ""
    files: tuple[str, ...] = ()
    verify_integrity: bool = True

    def required_files(self) -> list[Path]:
        """``<root>/<folder>/<file>`` for every file torchvision needs."""
        return [self.root / self.folder / f for f in self.files] if self.root is not None else []

    def dataset(self, **kwargs: Any) -> Any:
        """Instantiate the torchvision class; its errors become one-line :class:`DataError`."""
        cls = self.tv_class if self.verify_integrity else presence_only(self.tv_class)
        try:
            return cls(str(self.root), download=self.download, **kwargs)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if self.download:
                raise DataError(f"could not download {self.title} to {self.root}: {first}") from None
            if "corrupted" in first and self.verify_integrity:
                raise DataError(
                    f"{self.title} files in {self.root / self.folder} fail torchvision's md5 check (not the "
                    "official files?); replace them, or set dataset.verify_integrity=false "
                    "to load them as they are"
                ) from None
            raise DataError(f"{self.title} could not be read from {self.root}: {first}") from None


class MNISTDataModule(TorchvisionDataModule):
    """MNIST (60k train / 10k test, 28x28 gray) from ``<root>/MNIST/raw/*-ubyte`` IDX files."""

    tv_class = tvd.MNIST
    folder = "MNIST/raw"
    files = MNIST_RAW_FILES
    channels = 1
    native_size = 28
    title = "MNIST"

    def __init__(self, name: str = "mnist", num_classes: Optional[int] = 10, **kwargs: Any) -> None:
        super().__init__(name=name, num_classes=num_classes, **kwargs)

    def how_to_get(self) -> str:
        """Offline: ``make assets``; online: ``dataset.download=true``; or place the IDX files."""
        return (
            "run `make assets` (python scripts/prepare_assets.py --only mnist), or "
            "set dataset.download=true "
            f"when online, or put the four uncompressed IDX files in {self.root / self.folder}"
        )

    def read_official(self) -> dict[str, Split]:
        """Both splits as (N, 1, H, W) uint8 plus int64 labels."""
        out = {}
        for split, train in (("train", True), ("test", False)):
            ds = self.dataset(train=train)
            out[split] = (self.fit_size(ds.data.unsqueeze(1)), ds.targets.long())
        return out


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST (same format as MNIST) from ``<root>/FashionMNIST/raw/*-ubyte``."""

    tv_class = tvd.FashionMNIST
    folder = "FashionMNIST/raw"
    title = "Fashion-MNIST"

    def __init__(self, name: str = "fashion_mnist", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def how_to_get(self) -> str:
        """Where the official files come from."""
        return (
            "get the four *-ubyte.gz files from github.com/zalandoresearch/fashion-mnist (data/fashion) and "
            f"gunzip them into {self.root / self.folder}, or set dataset.download=true when online"
        )


class CIFAR10DataModule(TorchvisionDataModule):
    """CIFAR-10 (50k train / 10k test, 32x32 RGB) from ``<root>/cifar-10-batches-py/``."""

    tv_class = tvd.CIFAR10
    folder = "cifar-10-batches-py"
    files = tuple(f for f, _ in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list) + ("batches.meta",)
    channels = 3
    native_size = 32
    title = "CIFAR-10"

    def __init__(
        self,
        name: str = "cifar10",
        num_classes: Optional[int] = 10,
        verify_integrity: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, num_classes=num_classes, **kwargs)
        self.verify_integrity = bool(verify_integrity)

    def how_to_get(self) -> str:
        """Where the official files come from."""
        return (
            "extract cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into "
            f"{self.root}, or set dataset.download=true when online"
        )

    def read_official(self) -> dict[str, Split]:
        """Both splits as (N, 3, H, W) uint8 plus int64 labels."""
        out = {}
        for split, train in (("train", True), ("test", False)):
            ds = self.dataset(train=train)
            x = torch.from_numpy(ds.data).permute(0, 3, 1, 2)
            out[split] = (self.fit_size(x).contiguous(), torch.as_tensor(ds.targets, dtype=torch.long))
        return out


class STL10DataModule(TorchvisionDataModule):
    """STL-10 from ``<root>/stl10_binary/``; train = ``split`` (default train+unlabeled, 105k).

    Images are 96x96 on disk, resized (Resize + CenterCrop) to ``image_size`` (48 in the config,
    as PGMGAN). Unlabeled images have label -1; test is the official 8k labelled test split.
    """

    tv_class = tvd.STL10
    folder = "stl10_binary"
    files = tuple(f for f, _ in tvd.STL10.train_list + tvd.STL10.test_list)
    channels = 3
    native_size = 96
    title = "STL-10"

    def __init__(
        self,
        name: str = "stl10",
        num_classes: Optional[int] = 10,
        split: Literal["train", "unlabeled", "train+unlabeled"] = "train+unlabeled",
        verify_integrity: bool = True,
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "unlabeled", "train+unlabeled"):
            raise ConfigError(f"dataset.split must be train, unlabeled or train+unlabeled, got {split!r}")
        super().__init__(name=name, num_classes=num_classes, **kwargs)
        self.split_name = split
        self.verify_integrity = bool(verify_integrity)

    def how_to_get(self) -> str:
        """Where the official files come from."""
        return (
            "extract stl10_binary.tar.gz from https://cs.stanford.edu/~acoates/stl10/ into "
            f"{self.root}, or set dataset.download=true when online"
        )

    def cache_key(self) -> Optional[str]:
        """The converted tensors also depend on which train split is used."""
        return f"{super().cache_key()}-{self.split_name}"

    def _read(self, split: str) -> Split:
        ds = self.dataset(split=split)
        return self.fit_size(torch.from_numpy(ds.data)).contiguous(), torch.from_numpy(ds.labels).long()

    def read_official(self) -> dict[str, Split]:
        """The train split (parts converted one at a time to bound memory) and the test split."""
        parts = [self._read(s) for s in self.split_name.split("+")]
        train = (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
        return {"train": train, "test": self._read("test")}


class CelebADataModule(TorchvisionDataModule):
    """CelebA aligned faces from ``<root>/celeba/`` with the official train/valid/test partition.

    Each image is CenterCrop(``crop_size``, default 148) then Resize(``image_size``, default 64),
    as the GTN spec. Decoding ~200k JPEGs takes minutes, so the config caches the result.
    Labels are ``None`` (attributes are not classes).
    """

    tv_class = tvd.CelebA
    folder = "celeba"
    files = tuple(f for _, _, f in tvd.CelebA.file_list if not f.endswith(".zip")) + ("img_align_celeba",)
    channels = 3
    title = "CelebA"
    chunk = 1024

    def __init__(
        self,
        name: str = "celeba",
        image_size: int = 64,
        crop_size: Optional[int] = 148,
        verify_integrity: bool = True,
        num_classes: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name=name, image_size=image_size, crop_size=crop_size, num_classes=num_classes, **kwargs
        )
        self.verify_integrity = bool(verify_integrity)

    def how_to_get(self) -> str:
        """Where the official files come from."""
        return (
            "put img_align_celeba/ (unzipped) and the list_*.txt / "
            "identity_CelebA.txt files of the official "
            f"release in {self.root / self.folder}, or set dataset.download=true when online (needs gdown)"
        )

    def _read_images(self, folder: Path, names: list[str], progress: Callable[[int], None]) -> Tensor:
        out = []
        for start in range(0, len(names), self.chunk):
            imgs = [
                decode_image(str(folder / n), mode=ImageReadMode.RGB)
                for n in names[start : start + self.chunk]
            ]
            if self.crop_size is not None:
                imgs = [center_crop(im, [self.crop_size, self.crop_size]) for im in imgs]
            out.append(self.fit_size(torch.stack(imgs)))
            progress(len(imgs))
        return (
            torch.cat(out) if out else torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8)
        )

    def read_official(self) -> dict[str, Split]:
        """Decode, crop and resize every image of the three official partitions."""
        folder = self.root / self.folder / "img_align_celeba"
        names = {s: list(self.dataset(split=s, target_type=[]).filename) for s in ("train", "valid", "test")}
        total, done = sum(len(v) for v in names.values()), [0]

        def progress(k: int) -> None:
            done[0] += k
            if done[0] % (20 * self.chunk) < k or done[0] == total:
                log.info("CelebA: converted %d / %d images", done[0], total)

        return {
            split: (self._read_images(folder, names[key], progress), None)
            for split, key in (("train", "train"), ("val", "valid"), ("test", "test"))
        }

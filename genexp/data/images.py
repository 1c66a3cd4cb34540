"""Image datamodules: uint8 storage, one-time resize/crop, optional on-disk cache, fixed splits.

Concrete datasets live in :mod:`genexp.data.torchvision_sets` (MNIST, Fashion-MNIST, CIFAR-10,
STL-10, CelebA), :mod:`genexp.data.digits` and :mod:`genexp.data.stacked_mnist`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from genexp.constraints import NonNegativeInt, PositiveInt
from genexp.data.base import InMemoryDataModule, OnDevice
from genexp.data.label_protocols import check_classes, drop_classes, hide_labels
from genexp.errors import ConfigError, DataError

log = logging.getLogger(__name__)

Split = tuple[Tensor, Optional[Tensor]]
CACHE_VERSION = 1


def uint8_to_range(x: Tensor, value_range: Sequence[float], max_value: int = 255) -> Tensor:
    """Map stored integers 0..``max_value`` linearly onto ``value_range`` as float32."""
    lo, hi = float(value_range[0]), float(value_range[1])
    return x.to(torch.float32).mul_((hi - lo) / max_value).add_(lo)


def range_to_uint8(x: Tensor, value_range: Sequence[float]) -> Tensor:
    """Map floats in ``value_range`` onto uint8 0..255 (clamped, rounded), e.g. for FID."""
    lo, hi = float(value_range[0]), float(value_range[1])
    return ((x.detach().float() - lo) * (255.0 / (hi - lo))).round_().clamp_(0, 255).to(torch.uint8)


def fit_size(
    x: Tensor, image_size: Optional[int], crop_size: Optional[int] = None, chunk: int = 4096
) -> Tensor:
    """CenterCrop(``crop_size``) if given, then Resize(``image_size``) + CenterCrop(``image_size``).

    ``x`` is uint8 (N, C, H, W); resizing is antialiased bilinear, done in chunks to bound memory.
    Returns ``x`` unchanged (no copy) when nothing needs doing.
    """
    h, w = x.shape[-2:]
    needs_crop = crop_size is not None and (h, w) != (crop_size, crop_size)
    needs_resize = image_size is not None and (
        (h, w) != (image_size, image_size) if crop_size is None else crop_size != image_size
    )
    if not needs_crop and not needs_resize:
        return x
    out = []
    for start in range(0, len(x), chunk):
        xb = x[start : start + chunk].contiguous()
        if crop_size is not None:
            xb = TF.center_crop(xb, [crop_size, crop_size])
        if image_size is not None:
            xb = TF.resize(xb, [image_size], antialias=True)
            xb = TF.center_crop(xb, [image_size, image_size])
        out.append(xb)
    return torch.cat(out) if out else x.new_empty(0, x.shape[1], image_size or h, image_size or w)


def _fingerprint(paths: Sequence[Path]) -> str:
    """A hash of the names, sizes and modification times of ``paths`` (cache invalidation)."""
    items = []
    for p in sorted(paths):
        st = p.stat()
        items.append((str(p), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


class ImageDataModule(InMemoryDataModule):
    """Base of the image datamodules: whole splits held as uint8 (N, C, H, W) tensors.

    Subclasses set ``channels``, ``native_size`` and implement :meth:`read_official` (the official
    splits as uint8 tensors, already passed through :meth:`fit_size`), :meth:`required_files` and
    :meth:`how_to_get`. This class turns them into train/val/test:

    - ``test`` is the official test split;
    - ``val`` is the official validation split if the dataset has one (CelebA); else the last
      ``val_size`` images of the official train split (fixed, independent of the seed; with
      ``val_seed`` set, a random subset drawn with that seed instead, e.g. GTN's MNIST 80/20); with
      ``val_size: 0`` the whole train split is trained on and ``val`` is the test split
      (monitoring only; use this for paper protocols that train on the full train set);
    - ``n_train`` keeps the first ``n_train`` training images; ``include_test_in_train`` appends
      the test split to train (clustering protocols that fit on train+test; labels stay
      evaluation-only);
    - ``outlier_classes`` removes those classes from train (and from a val split carved from
      train): the leave-classes-out novelty protocol, the test split keeps every class and the
      anomaly metric reads ``outlier_classes`` as its positives;
    - ``labelled`` keeps the labels of only the first ``labelled`` training images (after the
      cuts above) and sets the others to -1 (semi-supervised protocols; val and test keep theirs).

    Batches are decoded to float32 in ``value_range`` by :meth:`decode_batch`.
    With ``cache_dir`` set, the converted official splits are saved once under
    ``<cache_dir>/datasets/`` (keyed by dataset, size, crop and the source files' sizes and
    times) and memory-mapped from there on later runs.
    """

    kind = "image"
    channels: int = 1
    native_size: Optional[int] = None
    max_value: int = 255
    title: str = "dataset"

    def __init__(
        self,
        name: str,
        shape: Optional[Sequence[int]] = None,
        root: Optional[str] = None,
        image_size: Optional[PositiveInt] = None,
        batch_size: PositiveInt = 128,
        eval_batch_size: Optional[PositiveInt] = None,
        num_classes: Optional[int] = None,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int = 0,
        val_size: NonNegativeInt = 5000,
        val_seed: Optional[int] = None,
        n_train: Optional[PositiveInt] = None,
        include_test_in_train: bool = False,
        download: bool = False,
        cache_dir: Optional[str] = None,
        crop_size: Optional[PositiveInt] = None,
        outlier_classes: Optional[Sequence[int]] = None,
        labelled: Optional[PositiveInt] = None,
        on_device: OnDevice = "auto",
    ) -> None:
        size = int(image_size or self.native_size or 0) or None
        expected = (self.channels, size, size) if size else None
        if shape is not None and expected is not None and tuple(int(s) for s in shape) != expected:
            raise ConfigError(
                f"dataset.shape {list(shape)} does not match {self.channels} channels at image_size {size}; "
                f"set dataset.shape=[{self.channels},{size},{size}] or change dataset.image_size"
            )
        if value_range is None or len(value_range) != 2 or float(value_range[0]) >= float(value_range[1]):
            raise ConfigError(f"dataset.value_range must be [low, high] with low < high, got {value_range}")
        if int(val_size) < 0 or (n_train is not None and int(n_train) < 1):
            raise ConfigError(f"dataset.val_size must be >= 0 and n_train >= 1; got {val_size}, {n_train}")
        super().__init__(
            name=name,
            shape=expected or tuple(shape or ()),
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_classes=num_classes,
            value_range=tuple(float(v) for v in value_range),
            seed=seed,
            on_device=on_device,
        )
        self.root = Path(os.path.expanduser(str(root))) if root is not None else None
        self.image_size = size
        self.crop_size = int(crop_size) if crop_size else None
        self.val_size = int(val_size)
        self.val_seed = val_seed
        self.n_train = int(n_train) if n_train is not None else None
        self.include_test_in_train = bool(include_test_in_train)
        self.download = bool(download)
        self.cache_dir = Path(os.path.expanduser(str(cache_dir))) if cache_dir else None
        self._official: Optional[dict[str, Split]] = None
        self.outlier_classes = None
        if outlier_classes:
            self.outlier_classes = check_classes(outlier_classes, num_classes, "dataset.outlier_classes")
        if self.outlier_classes and self.include_test_in_train:
            raise ConfigError("dataset.outlier_classes and include_test_in_train=true exclude each other")
        self.labelled = int(labelled) if labelled is not None else None

    # -- what subclasses provide -------------------------------------------------------------
    def required_files(self) -> list[Path]:
        """Files/folders that must exist under ``root`` for :meth:`read_official` to work."""
        return []

    def how_to_get(self) -> str:
        """A short hint on how to obtain the files (ends the missing-files error message)."""
        return "see the dataset's documentation"

    def read_official(self) -> dict[str, Split]:
        """The official splits (``train``, ``test`` and optionally ``val``) as uint8 tensors."""
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------------
    def fit_size(self, x: Tensor) -> Tensor:
        """Crop/resize uint8 images to this datamodule's ``crop_size``/``image_size``."""
        return fit_size(x, self.image_size, self.crop_size)

    def check_files(self) -> None:
        """Raise :class:`DataError` naming the missing files and how to get them (unless downloading)."""
        if self.download:
            return
        if self.root is None and self.required_files():
            raise ConfigError(f"dataset.root is not set for {self.title}; point it at the data folder")
        missing = [p for p in self.required_files() if not p.exists()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DataError(f"{self.title} not found: missing {missing[0]}{more}; {self.how_to_get()}")

    def cache_key(self) -> Optional[str]:
        """What the converted official splits depend on besides the files (``None``: never cache)."""
        return f"{self.name}-s{self.image_size}-c{self.crop_size}-v{CACHE_VERSION}"

    def _cache_path(self) -> Optional[Path]:
        key = self.cache_key()
        if self.cache_dir is None or key is None:
            return None
        return self.cache_dir / "datasets" / f"{key}-{_fingerprint(self.required_files())}.pt"

    def official_splits(self) -> dict[str, Split]:
        """The official splits at the configured size, read once (from the cache when enabled)."""
        if self._official is not None:
            return self._official
        self.check_files()
        path = self._cache_path()
        if path is not None and path.exists():
            blob = torch.load(path, mmap=True, weights_only=True)
            self._official = {k: (v["x"], v.get("y")) for k, v in blob.items()}
            return self._official
        self._official = self.read_official()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            torch.save({k: {"x": x, "y": y} for k, (x, y) in self._official.items()}, tmp)
            os.replace(tmp, path)
            log.info("cached converted %s splits at %s", self.title, path)
        return self._official

    def load_splits(self) -> dict[str, Split]:
        """Official splits -> train/val/test (see the class docstring)."""
        off = self.official_splits()
        (x_tr, y_tr), test = off["train"], off["test"]
        if "val" in off:
            val = off["val"]
        elif self.val_size > 0:
            if self.val_size >= len(x_tr):
                raise ConfigError(
                    f"dataset.val_size={self.val_size} leaves no training data ({len(x_tr)} images)"
                )
            cut = len(x_tr) - self.val_size
            if self.val_seed is not None:
                perm = torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(int(self.val_seed)))
                x_tr, y_tr = x_tr[perm], (y_tr[perm] if y_tr is not None else None)
            val = (x_tr[cut:], _slice(y_tr, cut, None))
            x_tr, y_tr = x_tr[:cut], _slice(y_tr, 0, cut)
        else:
            val = test
        if self.outlier_classes:
            x_tr, y_tr = drop_classes((x_tr, y_tr), self.outlier_classes, "train")
            if val is not test:
                val = drop_classes(val, self.outlier_classes, "val")
        if self.n_train is not None:
            x_tr, y_tr = x_tr[: self.n_train], _slice(y_tr, 0, self.n_train)
        if self.include_test_in_train:
            x_tr = torch.cat([x_tr, test[0]])
            y_tr = torch.cat([y_tr, test[1]]) if y_tr is not None and test[1] is not None else None
        if self.labelled is not None:
            x_tr, y_tr = hide_labels((x_tr, y_tr), self.labelled)
        return {"train": (x_tr, y_tr), "val": val, "test": test}

    def decode_batch(self, x: Tensor) -> Tensor:
        """uint8 batch -> float32 in ``value_range``."""
        return uint8_to_range(x, self.value_range, self.max_value)

    def to_uint8(self, x: Tensor) -> Tensor:
        """Float images in ``value_range`` -> uint8 0..255 (e.g. for FID feature extractors)."""
        return range_to_uint8(x, self.value_range)


def _slice(y: Optional[Tensor], start: int, stop: Optional[int]) -> Optional[Tensor]:
    return None if y is None else y[start:stop]

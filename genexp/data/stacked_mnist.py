"""Stacked-MNIST: three MNIST digits as the R, G, B channels of one 32x32 image (1000 modes)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.data.base import InMemoryDataModule, OnDevice
from genexp.data.images import range_to_uint8, uint8_to_range
from genexp.data.torchvision_sets import MNISTDataModule
from genexp.data.toy2d import split_generator
from genexp.errors import ConfigError


class StackedMNISTDataModule(InMemoryDataModule):
    """Stacked-MNIST as in PGMGAN: fixed triples of uniformly random MNIST digit indices.

    Each digit is Resize(32) (+ CenterCrop(32)) of an MNIST image; the label of a triple is
    100·d_R + 10·d_G + d_B. Train (``n_train``, default 100,000) and val triples index the MNIST
    train digits, test triples the MNIST test digits; all are drawn from ``seed``.
    To save memory the splits store the (N, 3) index triples, not images: :meth:`decode_batch`
    composes the images of a batch (so ``split()`` returns indices, ``get_data()`` images).
    ``digits`` holds the 70k resized digits (train then test) as uint8 (70000, 32, 32).
    """

    kind = "image"

    def __init__(
        self,
        root: str,
        name: str = "stacked_mnist",
        shape: Sequence[int] = (3, 32, 32),
        n_train: PositiveInt = 100_000,
        n_val: PositiveInt = 10_000,
        n_test: PositiveInt = 10_000,
        batch_size: PositiveInt = 64,
        eval_batch_size: Optional[PositiveInt] = None,
        num_classes: Optional[int] = 1000,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int = 0,
        download: bool = False,
        cache_dir: Optional[str] = None,
        on_device: OnDevice = "auto",
    ) -> None:
        if tuple(int(s) for s in shape) != (3, 32, 32) or num_classes != 1000:
            raise ConfigError("stacked_mnist is fixed at shape [3, 32, 32] with num_classes 1000")
        super().__init__(name, shape, batch_size, eval_batch_size, num_classes, value_range, seed, on_device)
        self.mnist = MNISTDataModule(
            root=root,
            image_size=32,
            value_range=value_range,
            val_size=0,
            download=download,
            cache_dir=cache_dir,
        )
        self.sizes = {"train": int(n_train), "val": int(n_val), "test": int(n_test)}
        self.digits: Optional[Tensor] = None
        self.digit_labels: Optional[Tensor] = None

    def check_files(self) -> None:
        """The MNIST files the triples are made of (:meth:`MNISTDataModule.check_files`)."""
        self.mnist.check_files()

    def load_splits(self) -> dict[str, tuple[Tensor, Optional[Tensor]]]:
        """Load the 32-px MNIST digits once and draw the index triples of every split."""
        off = self.mnist.official_splits()
        (x_tr, y_tr), (x_te, y_te) = off["train"], off["test"]
        self.digits = torch.cat([x_tr, x_te]).squeeze(1)
        self.digit_labels = torch.cat([y_tr, y_te])
        ranges = {"train": (0, len(x_tr)), "val": (0, len(x_tr)), "test": (len(x_tr), len(self.digits))}
        splits = {}
        for split, n in self.sizes.items():
            lo, hi = ranges[split]
            idx = torch.randint(lo, hi, (n, 3), generator=split_generator(self.seed, split))
            splits[split] = (idx, self.label_of(idx))
        return splits

    def classifier_splits(self) -> dict[str, tuple[Tensor, Tensor]]:
        """The single digits one channel shows, ``(N, 1, 32, 32)`` in ``value_range``, with their
        digit labels: ``train`` = the 60k MNIST train digits, ``test`` = the 10k test digits.

        The per-channel domain classifier (``stacked_mnist_modes``, ``fd_classifier``) learns from
        these, so it is the same whatever triples ``seed`` draws.
        """
        off = self.mnist.official_splits()
        return {s: (uint8_to_range(off[s][0], self.value_range), off[s][1]) for s in ("train", "test")}

    def label_of(self, idx: Tensor) -> Tensor:
        """Mode label 100·d_R + 10·d_G + d_B of index triples ``idx`` (N, 3)."""
        d = self.digit_labels[idx]
        return 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]

    def decode_batch(self, x: Tensor) -> Tensor:
        """Index triples (B, 3) -> images (B, 3, 32, 32) in ``value_range`` (on the triples'
        device: the digits are copied there once)."""
        self.setup()
        digits = self.digits if x.device == self.digits.device else self.device_copy(self.digits, x.device)
        return uint8_to_range(digits[x], self.value_range)

    def stored_bytes(self) -> int:
        """The index triples of every split plus the 70k digits they index."""
        return super().stored_bytes() + self.digits.numel() * self.digits.element_size()

    def to_uint8(self, x: Tensor) -> Tensor:
        """Float images in ``value_range`` -> uint8 0..255."""
        return range_to_uint8(x, self.value_range)

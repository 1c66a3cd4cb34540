"""CIFAR-20: CIFAR-100 with its 20 coarse superclasses as labels (the MPCC thesis' CIFAR-20)."""

from __future__ import annotations

import pickle
from typing import Any, Optional

import torch
import torchvision.datasets as tvd

from genexp.data.images import Split
from genexp.data.torchvision_sets import CIFAR10DataModule


class CIFAR20DataModule(CIFAR10DataModule):
    """CIFAR-100 (50k train / 10k test, 32x32 RGB) from ``<root>/cifar-100-python/``, labelled by the
    20 superclasses (``coarse_labels`` of the official pickles)."""

    tv_class = tvd.CIFAR100
    folder = "cifar-100-python"
    files = ("train", "test", "meta")
    title = "CIFAR-100 (CIFAR-20)"

    def __init__(self, name: str = "cifar20", num_classes: Optional[int] = 20, **kwargs: Any) -> None:
        super().__init__(name=name, num_classes=num_classes, **kwargs)

    def how_to_get(self) -> str:
        """Where the official files come from."""
        return (
            "extract cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into "
            f"{self.root}, or set dataset.download=true when online"
        )

    def read_official(self) -> dict[str, Split]:
        """Both splits as (N, 3, H, W) uint8 plus the int64 superclass labels."""
        out = super().read_official()
        for split in out:
            with open(self.root / self.folder / split, "rb") as f:
                coarse = pickle.load(f, encoding="latin1")["coarse_labels"]
            out[split] = (out[split][0], torch.as_tensor(coarse, dtype=torch.long))
        return out

"""scikit-learn's 8x8 digits (1797 images, values 0..16), split deterministically by seed."""

from __future__ import annotations

from typing import Any, Optional

import torch
from sklearn.datasets import load_digits

from genexp.data.images import ImageDataModule, Split


class DigitsDataModule(ImageDataModule):
    """The UCI digits bundled with scikit-learn, as 1x8x8 images (no files needed).

    The 1797 images are permuted with ``seed``; the first ``test_size`` (default 297, as the GEN
    spec) form the test split, the rest train. Values 0..16 are stored as uint8 and decoded to
    ``value_range`` (e.g. [0, 1] divides by 16). ``val_size`` defaults to 0 (val = test).
    """

    channels = 1
    native_size = 8
    max_value = 16
    title = "digits"

    def __init__(
        self,
        name: str = "digits",
        num_classes: Optional[int] = 10,
        test_size: int = 297,
        val_size: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, num_classes=num_classes, val_size=val_size, **kwargs)
        self.test_size = int(test_size)

    def cache_key(self) -> Optional[str]:
        """Never cached: the split depends on the seed and loading takes milliseconds."""
        return None

    def read_official(self) -> dict[str, Split]:
        """Seeded permutation of the whole set, cut into test (first ``test_size``) and train."""
        bunch = load_digits()
        x = torch.as_tensor(bunch.images, dtype=torch.uint8).unsqueeze(1)
        y = torch.as_tensor(bunch.target, dtype=torch.long)
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(self.seed)))
        x, y = self.fit_size(x[perm]), y[perm]
        t = self.test_size
        return {"train": (x[t:], y[t:]), "test": (x[:t], y[:t])}

"""CIFAR-20: CIFAR-100's pickles read with the coarse (superclass) labels."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from genexp.data.cifar20 import CIFAR20DataModule
from genexp.errors import DataError


def fake_cifar100(root: Path, n: int = 6) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("train", "test"):
        entry = {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "fine_labels": list(range(n)),
            "coarse_labels": [(19 - k) % 20 for k in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{k}" for k in range(100)]}))


def test_cifar20_uses_the_superclass_labels(tmp_path) -> None:
    fake_cifar100(tmp_path)
    dm = CIFAR20DataModule(root=str(tmp_path), verify_integrity=False, val_size=0, include_test_in_train=True)
    x, y = dm.split("train")
    assert x.shape == (12, 3, 32, 32) and dm.num_classes == 20
    assert torch.equal(y[:6], torch.tensor([19, 18, 17, 16, 15, 14]))
    with pytest.raises(DataError, match="cifar.html"):
        CIFAR20DataModule(root=str(tmp_path / "empty"), verify_integrity=False).setup()

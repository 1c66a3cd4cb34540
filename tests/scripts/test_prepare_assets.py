"""scripts/prepare_assets.py: the MNIST pickle -> IDX conversion and the `--online` fetch (no network)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from genexp.metrics import full_inception

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "prepare_assets.py"


@pytest.fixture(scope="module")
def prepare_assets():
    spec = importlib.util.spec_from_file_location("prepare_assets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_pickle(n_train: int = 3, n_val: int = 2, n_test: int = 2) -> tuple[bytes, list]:
    """A mnist.pkl.gz lookalike: (x float32 = uint8/256, y int64) for train, val, test."""
    rng = np.random.default_rng(0)
    parts = []
    for n in (n_train, n_val, n_test):
        pix = rng.integers(0, 256, (n, 784)).astype(np.uint8)
        parts.append((pix.astype(np.float32) / 256, rng.integers(0, 10, n).astype(np.int64), pix))
    blob = gzip.compress(pickle.dumps(tuple((x, y) for x, y, _ in parts)))
    return blob, parts


def test_pickle_to_idx_loads_in_torchvision(prepare_assets, tmp_path):
    blob, parts = fake_pickle()
    written = prepare_assets.mnist_pickle_to_idx(blob, tmp_path / "MNIST" / "raw")
    assert sorted(written) == sorted(prepare_assets.MNIST_IDX_SHA256)
    train = torchvision.datasets.MNIST(str(tmp_path), train=True, download=False)
    test = torchvision.datasets.MNIST(str(tmp_path), train=False, download=False)
    # train = pickle train + val, in order; exact uint8 pixels recovered
    expect = np.concatenate([parts[0][2], parts[1][2]]).reshape(-1, 28, 28)
    assert torch.equal(train.data, torch.as_tensor(expect))
    assert train.targets.tolist() == list(parts[0][1]) + list(parts[1][1])
    assert torch.equal(test.data, torch.as_tensor(parts[2][2].reshape(-1, 28, 28)))


def test_idx_header_and_exactness_check(prepare_assets, tmp_path):
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    prepare_assets.write_idx(tmp_path / "a", arr)
    raw = (tmp_path / "a").read_bytes()
    assert (
        raw[:4] == bytes([0, 0, 8, 2])
        and raw[4:12] == bytes([0, 0, 0, 2, 0, 0, 0, 3])
        and raw[12:] == arr.tobytes()
    )
    with pytest.raises(ValueError):
        prepare_assets.pixels_to_uint8(np.array([0.5 / 256], dtype=np.float32))
    with pytest.raises(ValueError):
        prepare_assets.write_idx(tmp_path / "b", arr.astype(np.int32))


def test_online_fetch_of_full_inception_with_a_fake_downloader(prepare_assets, tmp_path, monkeypatch):
    blob = fake_weights_bytes()
    served = []

    def fake(url, dest):
        served.append(url)
        dest.write_bytes(blob)

    with pytest.raises(SystemExit, match="Inception with logits: .* has sha256 .*; not installed"):
        prepare_assets.prepare_full_inception(tmp_path, fake)  # a fake file fails the real sha256
    assert not (tmp_path / full_inception.FILE).exists()
    monkeypatch.setattr(full_inception, "SHA256", hashlib.sha256(blob).hexdigest())
    prepare_assets.prepare_full_inception(tmp_path, fake)
    assert (tmp_path / full_inception.FILE).read_bytes() == blob
    assert served == [full_inception.URL] * 2


def fake_weights_bytes() -> bytes:
    """A tiny torch-fidelity-like state dict with a non-zero ``fc`` (what the checks read)."""
    buf = io.BytesIO()
    torch.save({"Mixed_7c.branch_pool.conv.weight": torch.zeros(1), "fc.weight": torch.ones(2, 2)}, buf)
    return buf.getvalue()

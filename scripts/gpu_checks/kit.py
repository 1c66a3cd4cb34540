"""The device kit: what the GPU check machine lacks, packed here and installed there offline.

The machine (one H200, Python 3.12, torch 2.11) reaches no package index. genexp needs, beyond
what it has (``device_packages.txt``), a few pure-Python packages and pydantic's compiled core;
the kit holds their wheels (``pip download --no-deps`` for the device's Python and platform;
``pip wheel`` for antlr4 4.9.3, which PyPI has as a source archive only) and MNIST as the four
gzipped IDX files. Standard library only: this module runs before genexp can be imported.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[2]
KIT_DIR = ROOT / ".device_kit"
MANIFEST = "kit.json"
DEVICE_PYTHON = "3.12"
DEVICE_PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)
# what genexp imports (directly or through these) that the device lacks; typing-extensions is
# there but pydantic needs a newer one than the image may hold
KIT_PACKAGES = (
    "hydra-core",
    "omegaconf",
    "antlr4-python3-runtime",
    "torch-fidelity",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "typing-extensions",
)
BINARY = frozenset({"pydantic-core"})  # compiled: fetched for the device's Python and platform
SOURCE_ONLY = frozenset({"antlr4-python3-runtime"})  # no wheel on PyPI: built here (pure Python)
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TRANSFER_LIMIT = 64 * 2**20  # what may travel to the device in one call (working tree + kit)
SIZE_BUDGET = 48 * 2**20  # "well under" that limit: packing fails above it

Fetch = Callable[[str, Path, str, str], None]  # (requirement, folder, how, python version)


def normalise(name: str) -> str:
    """A distribution name as wheel file names spell it (``hydra-core`` -> ``hydra_core``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def device_packages() -> frozenset[str]:
    """The distributions the device's python already has (normalised names)."""
    lines = (Path(__file__).with_name("device_packages.txt")).read_text().splitlines()
    return frozenset(normalise(s) for s in (ln.strip() for ln in lines) if s and not s.startswith("#"))


def pinned(name: str) -> str:
    """``name==<the version installed here>``: the kit carries what genexp is tested with."""
    return f"{name}=={importlib.metadata.version(name)}"


def fetch_command(requirement: str, dest: Path, how: str, python: str = DEVICE_PYTHON) -> list[str]:
    """The pip command that puts ``requirement``'s wheel in ``dest``: ``how`` is ``binary`` (for
    CPython ``python`` on the device's platform), ``pure`` (a pure-Python wheel) or ``build``
    (from the source archive)."""
    pip = [sys.executable, "-m", "pip"]
    if how == "build":
        return [*pip, "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(dest), requirement]
    cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest)]
    cmd += ["--python-version", python, "--implementation", "cp"]
    for platform in DEVICE_PLATFORMS if how == "binary" else ("any",):
        cmd += ["--platform", platform]
    return [*cmd, requirement]


def pip_fetch(requirement: str, dest: Path, how: str, python: str) -> None:
    """Run :func:`fetch_command` (needs a package index or mirror)."""
    subprocess.run(fetch_command(requirement, dest, how, python), check=True)


def how_to_fetch(name: str) -> str:
    """``binary``, ``build`` or ``pure`` for a kit package."""
    return "binary" if name in BINARY else "build" if name in SOURCE_ONLY else "pure"


def wheel_of(name: str, folder: Path) -> Path:
    """The one wheel of distribution ``name`` in ``folder``; an error if there is none or several."""
    found = sorted(folder.glob(f"{normalise(name)}-*.whl"))
    if len(found) != 1:
        raise RuntimeError(f"expected one wheel of {name} in {folder}, found {[p.name for p in found]}")
    return found[0]


def folder_bytes(path: Path) -> int:
    """The total size of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def tree_bytes(root: Path = ROOT) -> int:
    """The size of what the device tool sends: tracked and untracked-not-ignored files."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    files = (root / f for f in out.split("\0") if f)
    return sum(p.stat().st_size for p in files if p.is_file() and not p.is_symlink())


def pack(
    kit_dir: Path,
    mnist_dir: Path | None,
    packages: Iterable[str] = KIT_PACKAGES,
    fetch: Fetch = pip_fetch,
    python: str = DEVICE_PYTHON,
) -> dict:
    """(Re)build ``kit_dir``: one wheel per package at the version installed here (compiled ones
    for CPython ``python``), the MNIST IDX files of ``mnist_dir`` gzipped (skipped when None), and
    ``kit.json`` listing both."""
    wheels_dir = kit_dir / "wheels"
    shutil.rmtree(wheels_dir, ignore_errors=True)
    wheels_dir.mkdir(parents=True)
    wheels = {}
    for name in packages:
        requirement = pinned(name)
        fetch(requirement, wheels_dir, how_to_fetch(name), python)
        wheels[name] = {"requirement": requirement, "file": wheel_of(name, wheels_dir).name}
    mnist = []
    if mnist_dir is not None:
        out = kit_dir / "MNIST" / "raw"
        out.mkdir(parents=True, exist_ok=True)
        for fname in MNIST_FILES:
            with open(mnist_dir / fname, "rb") as src, gzip.open(out / f"{fname}.gz", "wb", 9) as dst:
                shutil.copyfileobj(src, dst)
            mnist.append(f"MNIST/raw/{fname}.gz")
    manifest = {"python": python, "wheels": wheels, "mnist": mnist}
    (kit_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(kit_dir: Path) -> dict:
    """``kit.json`` of a packed kit; a clear error when the folder is not one."""
    path = Path(kit_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pack the kit first (python scripts/pack_device_kit.py)")
    return json.loads(path.read_text())


def install(kit_dir: Path, target: Path) -> list[str]:
    """Install the kit's wheels with ``pip install --no-deps --no-index`` into ``target`` (never
    the network) and put ``target`` first on ``sys.path``; returns the wheel file names."""
    manifest = read_manifest(kit_dir)
    files = [str(Path(kit_dir) / "wheels" / w["file"]) for w in manifest["wheels"].values()]
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile"]
    cmd += ["--no-cache-dir", "--upgrade", "--target", str(target), *files]
    subprocess.run(cmd, check=True)
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    return [Path(f).name for f in files]


def unpack_mnist(kit_dir: Path, data_dir: Path) -> Path | None:
    """Gunzip the kit's MNIST into ``<data_dir>/MNIST/raw`` (genexp's loader reads the
    uncompressed IDX files); None when the kit has no MNIST."""
    manifest = read_manifest(kit_dir)
    if not manifest.get("mnist"):
        return None
    out = Path(data_dir) / "MNIST" / "raw"
    out.mkdir(parents=True, exist_ok=True)
    for rel in manifest["mnist"]:
        dst = out / Path(rel).name[: -len(".gz")]
        if not dst.exists():
            with gzip.open(Path(kit_dir) / rel, "rb") as src, open(dst, "wb") as fh:
                shutil.copyfileobj(src, fh)
    return Path(data_dir)

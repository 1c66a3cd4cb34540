"""Pack the device kit for scripts/gpu_check.py: the wheels the GPU machine lacks and MNIST.

    python scripts/pack_device_kit.py                 # -> .device_kit/ (ignored by git)
    python scripts/pack_device_kit.py --no-mnist      # wheels only
    python scripts/pack_device_kit.py --python-version 3.11 --out /tmp/kit311   # a kit for this machine

The GPU machine reaches no package index: this fetches, at the versions installed here, one
wheel per package of ``gpu_checks.kit.KIT_PACKAGES`` (``pip download --no-deps`` for the device's
Python 3.12 and x86-64 platform), gzips the four MNIST IDX files of ``data/MNIST/raw``, writes
``kit.json``, and prints the kit's size with the working tree's: what one device call carries
must stay under 64 MiB, and packing fails above 48 MiB. Then, on the device (``carry`` the kit):
``make gpu-check`` (``python3 scripts/gpu_check.py --install-kit .device_kit``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from gpu_checks import kit  # noqa: E402


def size_report(kit_bytes: int, tree_bytes: int, budget: int = kit.SIZE_BUDGET) -> tuple[bool, str]:
    """(within budget, one line): the kit, the working tree and their sum against the limit."""
    mib = lambda b: f"{b / 2**20:.1f} MiB"  # noqa: E731
    total = kit_bytes + tree_bytes
    ok = total <= budget
    line = (
        f"kit {mib(kit_bytes)} + working tree {mib(tree_bytes)} = {mib(total)} "
        f"(limit {mib(kit.TRANSFER_LIMIT)}, budget {mib(budget)}): {'ok' if ok else 'TOO LARGE'}"
    )
    return ok, line


def main(argv: list[str] | None = None) -> int:
    """Pack, print the size; 1 when the kit and tree exceed the budget."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=kit.KIT_DIR)
    p.add_argument("--mnist", type=Path, default=ROOT / "data" / "MNIST" / "raw")
    p.add_argument("--no-mnist", action="store_true")
    p.add_argument("--python-version", default=kit.DEVICE_PYTHON, help="the Python the wheels are for")
    args = p.parse_args(argv)
    mnist = None if args.no_mnist else args.mnist
    if mnist is not None and not all((mnist / f).is_file() for f in kit.MNIST_FILES):
        print(f"pack_device_kit: no MNIST IDX files in {mnist}; run `make assets` or pass --no-mnist")
        return 2
    manifest = kit.pack(args.out, mnist, python=args.python_version)
    for wheel in manifest["wheels"].values():
        print(f"  {wheel['file']}")
    print(f"  MNIST: {len(manifest['mnist'])} files")
    ok, line = size_report(kit.folder_bytes(args.out), kit.tree_bytes())
    print(f"pack_device_kit: {args.out}: {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""torch-fidelity's full Inception weights (the 1008-way logits that the Inception Score needs):
where the file comes from, its sha256, the sha256-checked download behind
``python scripts/prepare_assets.py --online``, and the one-line refusal ``metric=is`` gives
without it.

The offline asset ``make assets`` converts has no logits layer (FID/KID/precision-recall only).
The full file is the one torch-fidelity itself downloads (``URL_INCEPTION_V3``); the hex in its
name, ``6726825d``, is the prefix of its sha256 (torch.hub's naming convention).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from genexp.metrics import weight_files

FILE = "weights-inception-2015-12-05-6726825d.pth"
URL = URL_INCEPTION_V3
SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
HOW_TO = (
    "run `python scripts/prepare_assets.py --online` on a machine with a network "
    f"(it downloads torch-fidelity's full Inception weights, sha256-checked, to assets/{FILE}) "
    "and copy that file into assets/ here"
)

Downloader = Callable[[str, Path], None]


def download(url: str, dest: Path) -> None:
    """Stream ``url`` into the file ``dest`` (standard library only)."""
    with urllib.request.urlopen(url, timeout=120) as response, open(dest, "wb") as fh:  # noqa: S310
        shutil.copyfileobj(response, fh, 1 << 20)


def fetch(
    assets_dir: str | os.PathLike,
    downloader: Downloader = download,
    url: str | None = None,
    sha256: str | None = None,
) -> Path:
    """``<assets_dir>/weights-inception-2015-12-05-6726825d.pth``: kept if its sha256 matches,
    else downloaded, checked (sha256, a torch-fidelity InceptionV3 state dict with logits) and
    moved into place with a JSON sidecar. Raises ``RuntimeError`` (one line) on any failure;
    nothing is left behind then. ``url`` / ``sha256`` default to torch-fidelity's file."""
    url, sha256 = url or URL, sha256 or SHA256
    path = Path(assets_dir) / FILE
    if path.is_file() and weight_files.file_sha256(path) == sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        try:
            downloader(url, part)
        except OSError as err:
            raise RuntimeError(f"could not download {url}: {err}") from err
        digest = weight_files.file_sha256(part)
        if digest != sha256:
            raise RuntimeError(f"{url} has sha256 {digest}, expected {sha256}; not installed")
        problem = weight_files.inception_weights_problem(part)
        if problem is None and not weight_files.weights_have_logits(part):
            problem = f"{url} has no logits layer"
        if problem is not None:
            raise RuntimeError(problem)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    meta = {
        "file": FILE,
        "sha256": sha256,
        "format": "torch-fidelity FeatureExtractorInceptionV3 state dict (feature_extractor_weights_path)",
        "source": url,
        "has_logits": True,
        "note": "full Inception with its 1008-way fc layer: FID/KID/precision-recall and Inception Score",
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def is_refusal(weights_path: str | os.PathLike | None, problem: str | None = None) -> str:
    """The one line ``metric=is`` refuses with when ``weights_path`` cannot give logits."""
    if problem is None:
        why = f"{weights_path} has no logits layer (its fc is zero or absent: FID-only weights)"
    elif weights_path and not Path(weights_path).is_file():
        why = f"no Inception weights at {weights_path}"
    else:
        why = problem
    return f"IS refused: {why}; to get the weights with logits, {HOW_TO}"

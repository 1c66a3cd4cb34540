"""Feature-extractor weight files: their sha256, and the checks of the offline Inception file
(present, readable, with or without the logits layer that IS needs)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

_SHA_MEMO: dict[tuple[str, int, float], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, memoised per (path, size, mtime)."""
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime)
    if key not in _SHA_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _SHA_MEMO[key] = h.hexdigest()
    return _SHA_MEMO[key]


def _load_state_dict(path: str | os.PathLike) -> dict:
    sd = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(sd, dict):
        raise TypeError("not a state dict")
    return sd


def inception_weights_problem(path: str | os.PathLike | None) -> str | None:
    """Why the Inception weights at ``path`` cannot be used for FID/KID/PR, or None if they can."""
    if not path:
        return "no Inception weights file configured (metric.<name>.weights_path)"
    p = Path(path)
    if not p.is_file():
        return (
            f"Inception weights not found at {p}; run `make assets` "
            "(scripts/prepare_assets.py) to create them"
        )
    try:
        sd = _load_state_dict(p)
    except Exception as err:  # noqa: BLE001 - any unreadable or corrupt file
        return (
            f"cannot read Inception weights {p} ({type(err).__name__}: {err}); "
            "recreate them with `make assets`"
        )
    if "Mixed_7c.branch_pool.conv.weight" not in sd:
        return f"{p} is not a torch-fidelity InceptionV3 state dict (no Mixed_7c layers)"
    return None


def weights_have_logits(path: str | os.PathLike) -> bool:
    """True when the state dict has a non-zero ``fc`` layer (needed for IS).

    A JSON sidecar ``<path>.json`` (or ``<stem>.json``) saying ``fc_zeroed: true`` or
    ``has_logits: false`` also marks the file as logits-less.
    """
    for side in (Path(str(path) + ".json"), Path(path).with_suffix(".json")):
        if side.is_file():
            try:
                meta = json.loads(side.read_text())
            except ValueError:
                meta = {}
            if meta.get("fc_zeroed") is True or meta.get("has_logits") is False:
                return False
    sd = _load_state_dict(path)
    weight = sd.get("fc.weight")
    return weight is not None and bool(torch.as_tensor(weight).abs().sum() > 0)


# -- scores -----------------------------------------------------------------------------------

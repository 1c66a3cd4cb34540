"""Helpers of staged models (e.g. VaDE: pretrain -> GMM init -> joint): per-stage checkpoints in the
run folder, and starting a later run from one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning as L
import torch
from torch import nn

from genexp.errors import ConfigError


def stage_checkpoint_path(trainer: L.Trainer, name: str) -> Path:
    """``<run folder>/checkpoints/<name>.ckpt``."""
    from genexp.callbacks.results import run_dir

    return run_dir(trainer) / "checkpoints" / f"{name}.ckpt"


def save_stage_checkpoint(trainer: L.Trainer, name: str) -> Path:
    """Save a full Lightning checkpoint of the current state as ``checkpoints/<name>.ckpt``.

    Call it on every rank (Lightning writes on rank 0 and synchronises the others)."""
    path = stage_checkpoint_path(trainer, name)
    trainer.save_checkpoint(str(path))
    return path


def load_weights(module: nn.Module, path: Optional[str]) -> Optional[dict[str, Any]]:
    """Load the ``state_dict`` of checkpoint ``path`` into ``module`` (None: do nothing).

    Returns the checkpoint dict. Raises :class:`ConfigError` for a missing file or a checkpoint of
    another architecture."""
    if not path:
        return None
    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise ConfigError(
            f"model.init_from={path}: no such checkpoint file; point it at a run's checkpoints/*.ckpt"
        )
    ckpt = torch.load(p, map_location="cpu", weights_only=False)
    try:
        module.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise ConfigError(
            f"model.init_from={path} does not fit this model ({first}); use a checkpoint of the same "
            "model and architecture"
        ) from None
    return ckpt

"""A bare Lightning Trainer for callback and model tests: CPU, one device, no logger, progress bar,
model summary or checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import lightning as L


def bare_trainer(tmp_path: Path, callbacks: Sequence[Any] = (), **kwargs: Any) -> L.Trainer:
    """A quiet CPU Trainer with its run folder in ``tmp_path``."""
    options: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
        callbacks=list(callbacks),
    )
    options.update(kwargs)
    return L.Trainer(**options)

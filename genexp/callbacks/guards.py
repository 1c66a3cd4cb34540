"""Stops a run whose loss is NaN/inf before anything is written from the broken state."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Optional

import lightning as L
import torch

from genexp.constraints import PositiveInt
from genexp.errors import TrainingError
from genexp.run_record import run_record


def kept_checkpoint(trainer: L.Trainer) -> Optional[Path]:
    """The checkpoint a stopped run can resume from: ``<run>/checkpoints/last.ckpt``, else the
    newest ``*.ckpt`` there; ``None`` when none was written yet."""
    folder = run_record(trainer).folder_of(trainer) / "checkpoints"
    last = folder / "last.ckpt"
    if last.is_file():
        return last
    others = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return others[-1] if others else None


def _all_finite(loss: torch.Tensor) -> bool:
    """Whether every value of ``loss`` is finite (a host scalar is read directly: a few
    microseconds instead of three tensor ops)."""
    if loss.numel() == 1 and loss.device.type == "cpu":
        return math.isfinite(loss.item())
    return bool(torch.isfinite(loss).all())


class FiniteLossGuard(L.Callback):
    """Raises :class:`TrainingError` when a training step returns a non-finite loss.

    The exception stops training before the next checkpoint, so the last good ``last.ckpt``
    stays on disk; the message names it, or says that no checkpoint was written yet.
    ``check_every_n_steps`` trades a device sync per step for detection delay.
    """

    def __init__(self, check_every_n_steps: PositiveInt = 1) -> None:
        super().__init__()
        self.every = max(1, int(check_every_n_steps))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Check the step's loss."""
        if batch_idx % self.every:
            return
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor) and not _all_finite(loss):
            kept = kept_checkpoint(trainer)
            where = (
                f"the last good checkpoint is kept in {kept}: resume={kept} after fixing the config"
                if kept is not None
                else "no checkpoint was written yet: start a new run after fixing the config"
            )
            raise TrainingError(
                f"loss became {loss.detach().float().cpu().item()} at step {trainer.global_step} "
                f"(epoch {trainer.current_epoch}); lower the learning rate or check the data; {where}"
            )

"""Stops a run whose loss is NaN/inf before anything is written from the broken state."""

from __future__ import annotations

from typing import Any, Mapping

import lightning as L
import torch

from genexp.errors import TrainingError


class FiniteLossGuard(L.Callback):
    """Raises :class:`TrainingError` when a training step returns a non-finite loss.

    The exception stops training before the next checkpoint, so the last good ``last.ckpt``
    stays on disk. ``check_every_n_steps`` trades a device sync per step for detection delay.
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        super().__init__()
        self.every = max(1, int(check_every_n_steps))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Check the step's loss."""
        if batch_idx % self.every:
            return
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss).all()):
            raise TrainingError(
                f"loss became {loss.detach().float().cpu().item()} at step {trainer.global_step} "
                "(epoch {0}); lower the learning rate or check the data. The last good checkpoint "
                "is kept in checkpoints/last.ckpt: resume=<that path> after fixing the config".format(
                    trainer.current_epoch
                )
            )

"""Checkpointing: ``last.ckpt`` every N steps and at the end, and ``best.ckpt`` by a monitored value."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class BestCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint that saves the best model by ``monitor`` and quietly does nothing for
    models that never log that key (e.g. a GAN has no ``val/loss``)."""

    def _save_topk_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, Any]) -> None:
        if self.monitor is not None and self.monitor not in monitor_candidates:
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)

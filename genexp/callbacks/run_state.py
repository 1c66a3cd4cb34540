"""Keeps run identity in checkpoints: the wandb run id, so a resumed run continues the same run."""

from __future__ import annotations

from typing import Any

import lightning as L


def wandb_run_id(trainer: L.Trainer) -> str | None:
    """The id of the trainer's wandb run, if it logs to wandb."""
    for logger in trainer.loggers:
        if type(logger).__name__ == "WandbLogger":
            return logger.experiment.id
    return None


class RunStateCheckpoint(L.Callback):
    """Stores ``{"genexp": {"wandb_run_id": ...}}`` in every checkpoint."""

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Add genexp's run state to the checkpoint dict."""
        checkpoint.setdefault("genexp", {})["wandb_run_id"] = wandb_run_id(trainer)

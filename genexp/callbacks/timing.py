"""Records how long training took and the optimizer steps per second, into metrics.json."""

from __future__ import annotations

import time
from typing import Any

import lightning as L

from genexp.run_record import run_record


class FitTimer(L.Callback):
    """Stores ``fit_time_s`` (all of fit after setup, end-of-training figures and checkpoints
    included), ``train_loop_s`` (from the first training batch to the end of the last one,
    validation included) and ``steps_per_s`` (optimizer steps over ``train_loop_s``)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the fit clock."""
        self._fit_start = time.perf_counter()
        self._loop_start: float | None = None
        self._loop_end = self._fit_start
        self._start_step = trainer.global_step

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Count steps from where training starts (a resumed run's checkpoint is restored by now)."""
        self._start_step = trainer.global_step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Start the loop clock at the first batch."""
        if self._loop_start is None:
            self._loop_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Move the loop's end mark (after the epoch's validation)."""
        self._loop_end = time.perf_counter()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop the clocks and store the figures (rank 0)."""
        now = time.perf_counter()
        loop = self._loop_end - (self._loop_start if self._loop_start is not None else self._loop_end)
        steps = trainer.global_step - self._start_step
        if trainer.global_rank == 0:
            run_record(trainer).results.update(
                {
                    "fit_time_s": round(now - self._fit_start, 3),
                    "train_loop_s": round(loop, 3),
                    "fit_steps": steps,
                    "steps_per_s": round(steps / max(loop, 1e-9), 3),
                }
            )

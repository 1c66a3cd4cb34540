"""A callback that measures a run for the GPU check: optimizer steps/s after a warm-up and the
peak accelerator memory, stored in the run's results (``metrics.json``) under ``check/``."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch

from genexp.run_record import run_record


class StepProbe(L.Callback):
    """Marks the clock (after a device sync) at the end of every training batch; at the end of
    training records ``check/steps_per_s`` over the batches after the first ``warmup_batches``
    (optimizer steps: a GAN's D and G steps both count), ``check/batches`` and
    ``check/peak_mem_mib`` (``torch.cuda.max_memory_allocated`` since setup; None off CUDA)."""

    def __init__(self, warmup_batches: int = 2) -> None:
        super().__init__()
        self.warmup_batches = int(warmup_batches)
        self._marks: list[tuple[float, int]] = []

    @staticmethod
    def _cuda_device(pl_module: L.LightningModule) -> torch.device | None:
        device = pl_module.device
        return device if device.type == "cuda" else None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Reset the peak-memory counter and the clock marks."""
        self._marks = []
        if torch.cuda.is_available() and trainer.strategy.root_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(trainer.strategy.root_device)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """One clock mark: the device has finished the batch's work."""
        device = self._cuda_device(pl_module)
        if device is not None:
            torch.cuda.synchronize(device)
        self._marks.append((time.perf_counter(), int(trainer.global_step)))

    def figures(self) -> dict[str, Any]:
        """``steps_per_s`` and ``batches`` from the marks so far (None before two marks)."""
        marks = self._marks
        if len(marks) < 2:
            return {"steps_per_s": None, "batches": len(marks)}
        first = marks[min(max(self.warmup_batches - 1, 0), len(marks) - 2)]
        (t1, s1) = marks[-1]
        return {"steps_per_s": (s1 - first[1]) / max(t1 - first[0], 1e-9), "batches": len(marks)}

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Store the figures in the run's results."""
        device = self._cuda_device(pl_module)
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if device is not None else None
        figures = {f"check/{k}": v for k, v in self.figures().items()}
        figures["check/peak_mem_mib"] = peak
        run_record(trainer).results.update(figures)

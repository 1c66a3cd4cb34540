"""Writes the run's final numbers to ``metrics.json`` (rank 0), after fit and after test."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import lightning as L

from genexp.callbacks.results import results, run_dir


def to_plain(value: Any) -> Any:
    """A JSON-ready value: 1-element tensors to numbers, non-finite floats to strings."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class RunResultsWriter(L.Callback):
    """Collects final logged values (``train/*`` last values, ``val/*``, ``test/*``) and what
    metric callbacks recorded, and writes them as ``metrics.json`` in the run folder.

    Runs inside the training process, so it also works with spawn-based DDP.
    """

    def __init__(self, optimized_metric: Optional[str] = None) -> None:
        super().__init__()
        self.optimized_metric = optimized_metric

    def _write(self, trainer: L.Trainer) -> None:
        if trainer.global_rank != 0 or trainer.sanity_checking:
            return
        out: dict[str, Any] = {}
        for key, value in trainer.callback_metrics.items():
            out[key] = to_plain(value)
        out.update({k: to_plain(v) for k, v in results(trainer).items()})
        out["global_step"] = int(trainer.global_step)
        out["epochs"] = int(trainer.current_epoch)
        path = run_dir(trainer) / "metrics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(out, indent=2, sort_keys=True, default=str))
        tmp.replace(path)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write what training produced."""
        self._write(trainer)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Rewrite with the test numbers and metric callbacks' results added."""
        self._write(trainer)

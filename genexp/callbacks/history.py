"""Keeps the run's own small history of the scalars it logs, whatever the logger (``history.jsonl``)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import lightning as L

from genexp.run_record import run_record

HISTORY_FILE = "history.jsonl"


def _scalars(values: Mapping[str, Any], prefix: Optional[str] = None) -> dict[str, float]:
    """The finite one-number values of ``values`` (tensors included), optionally by key prefix."""
    out = {}
    for key, value in values.items():
        if prefix is not None and not key.startswith(prefix):
            continue
        if hasattr(value, "numel"):
            if value.numel() != 1:
                continue
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        out[key] = float(value)
    return out


class ScalarHistory(L.Callback):
    """Appends one JSON line per logging step to ``<run>/history.jsonl`` (rank 0).

    A ``train`` row holds the scalars the loggers receive at that step (the same steps:
    ``trainer.log_every_n_steps``); a ``val`` row, after each validation, the ``val/*`` values of
    ``trainer.callback_metrics`` and the ``val/*`` numbers metric callbacks recorded since the
    previous row. Rows carry ``stage``, ``step`` (optimizer steps), ``epoch`` and ``time``. On a
    step the loggers skip, the only work is Lightning's own ``should_update_logs`` check; a
    resumed run appends to the same file (readers keep the last row per stage and step).
    """

    def __init__(self, file_name: str = HISTORY_FILE) -> None:
        super().__init__()
        self.file_name = file_name
        self._path: Optional[Path] = None
        self._recorded: dict[str, float] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Resolve the file (in the run folder) once."""
        self._path = run_record(trainer).folder_of(trainer) / self.file_name

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """On a logging step, write what the loggers are about to receive."""
        connector = trainer._logger_connector
        if not (connector.should_update_logs or trainer.fast_dev_run):
            return
        values = _scalars(connector.metrics["log"])  # every rank: the values may need a sync
        if values and trainer.global_rank == 0:
            self._append(trainer, "train", values)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After each validation (not the sanity check), write its numbers."""
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        values = _scalars(trainer.callback_metrics, "val")
        if trainer.global_rank != 0:
            return
        recorded = _scalars(run_record(trainer).results, "val")
        values.update({k: v for k, v in recorded.items() if self._recorded.get(k) != v})
        self._recorded.update(recorded)
        if values:
            self._append(trainer, "val", values)

    def _append(self, trainer: L.Trainer, stage: str, values: dict[str, float]) -> None:
        append_history_row(trainer, stage, values, self._path or self.file_name)


def append_history_row(
    trainer: L.Trainer, stage: str, values: Mapping[str, Any], file: Path | str = HISTORY_FILE
) -> None:
    """Append one row (``stage``, ``step``, ``epoch``, ``time`` and the finite scalars of ``values``)
    to the run's history file (a relative ``file`` is taken in the run folder); call on rank 0."""
    path = Path(file)
    if not path.is_absolute():
        path = run_record(trainer).folder_of(trainer) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"stage": stage, "step": int(trainer.global_step)}
    row.update(epoch=int(trainer.current_epoch), time=round(time.time(), 3))
    row.update(_scalars(values))
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")

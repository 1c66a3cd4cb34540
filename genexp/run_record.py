"""The run record: the one object a run hands to its models and callbacks.

:func:`genexp.train.train` and :func:`genexp.evaluate.evaluate` create one :class:`RunRecord` per
run and put it in the trainer's callbacks. Models and callbacks reach it with
:func:`run_record` (``run_record(trainer).record(trainer, {...})``) to

- know the run folder (``folder``: Hydra's output folder, where ``stages/``, ``samples/`` and
  ``metrics.json`` live);
- record final numbers (``record``: to every logger and to the results dict);
- save figures (``save_figure``: ``samples/<name>.png`` plus the loggers that show images).

As a callback it writes the results file (``metrics.json``; ``eval_metrics.json`` for an
evaluation) after fit and after test, and keeps the run's identity (the wandb run id) in every
checkpoint so a resumed run continues the same logger run.
"""

from __future__ import annotations

import json
import math
import os
import weakref
from pathlib import Path
from typing import Any, Mapping, Optional

import lightning as L

_FALLBACK: "weakref.WeakKeyDictionary[L.Trainer, RunRecord]" = weakref.WeakKeyDictionary()


def to_plain(value: Any) -> Any:
    """A JSON-ready value: 1-element tensors to numbers, non-finite floats to strings."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def wandb_run_id(trainer: L.Trainer) -> Optional[str]:
    """The id of the trainer's wandb run, if it logs to wandb."""
    for logger in trainer.loggers:
        if type(logger).__name__ == "WandbLogger":
            return logger.experiment.id
    return None


class RunRecord(L.Callback):
    """Folder, results and results file of one run (see the module docstring).

    Args:
        folder: the run folder; ``None`` uses the trainer's ``default_root_dir``.
        file_name: the results file written in ``folder`` after fit and after test.
        extra: values always added to the results file (e.g. an evaluation's checkpoint path).
    """

    def __init__(
        self,
        folder: Optional[os.PathLike | str] = None,
        file_name: str = "metrics.json",
        extra: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__()
        self._folder = Path(folder) if folder is not None else None
        self.file_name = file_name
        self.results: dict[str, Any] = {}
        self.extra = dict(extra or {})

    # -- where ----------------------------------------------------------------------------------
    def folder_of(self, trainer: Optional[L.Trainer]) -> Path:
        """The run folder (the trainer's ``default_root_dir`` when none was given)."""
        if self._folder is not None:
            return self._folder
        return Path(trainer.default_root_dir) if trainer is not None else Path.cwd()

    @property
    def folder(self) -> Path:
        """The run folder given at construction (the current directory when none was)."""
        return self._folder if self._folder is not None else Path.cwd()

    # -- what -----------------------------------------------------------------------------------
    def record(self, trainer: L.Trainer, values: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Log scalar ``values`` to every logger and keep them in the results (rank 0 only).

        Non-scalar values (strings, lists: e.g. a metric's protocol) are kept in the results file
        and sent to loggers that accept them as a run summary, never as a time series.
        """
        if trainer.global_rank != 0:
            return
        self.results.update(values)
        scalars = {
            k: float(v)
            for k, v in values.items()
            if not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
        }
        step = trainer.global_step if step is None else step
        if scalars:
            for logger in trainer.loggers:
                logger.log_metrics(scalars, step=step)
        others = {k: v for k, v in values.items() if k not in scalars}
        if others:
            for logger in trainer.loggers:
                summary = getattr(getattr(logger, "experiment", None), "summary", None)
                if summary is not None and type(logger).__name__ == "WandbLogger":
                    for k, v in others.items():
                        summary[k] = v if isinstance(v, (int, float, str)) else str(v)

    def save_figure(
        self, trainer: L.Trainer, figure: Any, name: str, step: Optional[int] = None
    ) -> Optional[Path]:
        """Save a matplotlib figure as ``samples/<name>.png`` and log it as an image (rank 0 only)."""
        if trainer.global_rank != 0:
            return None
        import matplotlib.pyplot as plt

        out = self.folder_of(trainer) / "samples"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        self.log_image_file(trainer, path, name, step)
        return path

    @staticmethod
    def log_image_file(trainer: L.Trainer, path: os.PathLike, name: str, step: Optional[int] = None) -> None:
        """Send a PNG already on disk to every logger that shows images (wandb, tensorboard)."""
        step = trainer.global_step if step is None else step
        for logger in trainer.loggers:
            kind = type(logger).__name__
            if kind == "WandbLogger":
                logger.log_image(key=name, images=[str(path)], step=step)
            elif kind == "TensorBoardLogger":
                import numpy as np
                from PIL import Image

                img = np.asarray(Image.open(path).convert("RGB"))
                logger.experiment.add_image(name, img, global_step=step, dataformats="HWC")

    # -- the results file -----------------------------------------------------------------------
    def collect(self, trainer: L.Trainer) -> dict[str, Any]:
        """Final logged values (``train/*`` last values, ``val/*``, ``test/*``), recorded values,
        step and epoch counts, and the extra values."""
        out: dict[str, Any] = {k: to_plain(v) for k, v in trainer.callback_metrics.items()}
        out.update({k: to_plain(v) for k, v in self.results.items()})
        out["global_step"] = int(trainer.global_step)
        out["epochs"] = int(trainer.current_epoch)
        out.update(self.extra)
        return out

    def write(self, trainer: L.Trainer) -> Optional[Path]:
        """Write :meth:`collect` atomically to ``<folder>/<file_name>`` (rank 0)."""
        if trainer.global_rank != 0 or trainer.sanity_checking:
            return None
        path = self.folder_of(trainer) / self.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.collect(trainer), indent=2, sort_keys=True, default=str))
        tmp.replace(path)
        return path

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write what training produced."""
        self.write(trainer)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Rewrite with the test numbers and the metric callbacks' results added."""
        self.write(trainer)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Keep the run's identity (``{"genexp": {"wandb_run_id": ...}}``) in every checkpoint."""
        checkpoint.setdefault("genexp", {})["wandb_run_id"] = wandb_run_id(trainer)


def run_record(trainer: Optional[L.Trainer]) -> RunRecord:
    """The :class:`RunRecord` among ``trainer``'s callbacks.

    A trainer built without one (a test's bare ``L.Trainer``) gets a record of its own, in its
    ``default_root_dir``, kept for the trainer's lifetime.
    """
    if trainer is None:
        return RunRecord()
    for cb in trainer.callbacks:
        if isinstance(cb, RunRecord):
            return cb
    if trainer not in _FALLBACK:
        _FALLBACK[trainer] = RunRecord(trainer.default_root_dir)
    return _FALLBACK[trainer]

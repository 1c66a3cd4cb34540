"""Where metric callbacks put their numbers and figures: the loggers, metrics.json and samples/."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import lightning as L


def run_dir(trainer: L.Trainer) -> Path:
    """The run folder (Hydra's output dir when running from the CLI, else ``default_root_dir``)."""
    path = getattr(trainer, "genexp_run_dir", None) or trainer.default_root_dir
    return Path(path)


def results(trainer: L.Trainer) -> dict[str, Any]:
    """The run's final-results dict that :mod:`genexp.train` writes to ``metrics.json``."""
    if not hasattr(trainer, "genexp_results"):
        trainer.genexp_results = {}
    return trainer.genexp_results


def record_metrics(trainer: L.Trainer, values: Mapping[str, Any], step: Optional[int] = None) -> None:
    """Log scalar ``values`` to every logger and store them in the run's results (rank 0 only).

    Non-scalar values (strings, lists: e.g. a metric's protocol) are kept in ``metrics.json``
    and sent to loggers that accept them as hyper-parameters/summary, never as a time series.
    """
    if trainer.global_rank != 0:
        return
    res = results(trainer)
    res.update(values)
    scalars = {}
    for key, val in values.items():
        if isinstance(val, bool):
            continue
        if isinstance(val, (int, float)) and math.isfinite(float(val)):
            scalars[key] = float(val)
    step = trainer.global_step if step is None else step
    for logger in trainer.loggers:
        if scalars:
            logger.log_metrics(scalars, step=step)
    others = {k: v for k, v in values.items() if k not in scalars}
    if others:
        _log_summary(trainer, others)


def _log_summary(trainer: L.Trainer, values: Mapping[str, Any]) -> None:
    """Put non-scalar values (protocols, notes) in the wandb run summary where wandb is used."""
    for logger in trainer.loggers:
        experiment = getattr(logger, "experiment", None)
        summary = getattr(experiment, "summary", None)
        if summary is not None and type(logger).__name__ == "WandbLogger":
            for k, v in values.items():
                summary[k] = v if isinstance(v, (int, float, str)) else str(v)


def save_figure(trainer: L.Trainer, figure: Any, name: str, step: Optional[int] = None) -> Optional[Path]:
    """Save a matplotlib figure as ``samples/<name>.png`` and log it as an image (rank 0 only)."""
    if trainer.global_rank != 0:
        return None
    import matplotlib.pyplot as plt

    out = run_dir(trainer) / "samples"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    log_image_file(trainer, path, name, step)
    return path


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

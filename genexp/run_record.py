"""The run record: the one object a run hands to its models and callbacks.

:func:`genexp.train.train` and :func:`genexp.evaluate.evaluate` create one :class:`RunRecord` per
run and put it in the trainer's callbacks. Models and callbacks reach it with
:func:`run_record` (``run_record(trainer).record(trainer, {...})``) to

- know the run folder (``folder``: Hydra's output folder, where ``stages/``, ``samples/`` and
  ``metrics.json`` live);
- record final numbers (``record``: to every logger and to the results dict);
- save figures (``save_figure``: ``samples/<name>.png`` plus the loggers that show images).

As a callback it writes the results file (``metrics.json``; ``eval_metrics.json`` for an
evaluation) after fit and after test, and keeps the run's identity and random state in every
checkpoint: the wandb run id (a resumed run continues the same logger run) and the global random
states of torch, CUDA, numpy and Python, restored when training restarts, so that a resumed run
continues with the same random numbers as an uninterrupted one (with the stateful data loaders of
:mod:`genexp.data.base`, bit-identical on the CPU for a deterministic config).
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


def rng_states() -> dict[str, Any]:
    """The global random states of torch (CPU and CUDA), numpy and Python, in types that a
    ``weights_only`` checkpoint load accepts (tensors, ints, tuples)."""
    import random

    import numpy as np
    import torch

    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": (kind, torch.from_numpy(key.astype(np.int64)), int(pos), int(has_gauss), float(gauss)),
        "python": random.getstate(),
    }


def set_rng_states(states: Mapping[str, Any]) -> None:
    """Restore :func:`rng_states`."""
    import random

    import numpy as np
    import torch

    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    kind, key, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, state, gauss_py = states["python"]
    random.setstate((version, tuple(state), gauss_py))


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
        self._rng_to_restore: Optional[dict[str, Any]] = None
        self._rng_before_validation: Optional[dict[str, Any]] = None

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
        if isinstance(self.extra.get("provenance"), dict):  # the last write ends the run
            from genexp.provenance import now

            self.extra["provenance"]["end_time"] = now()
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

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Validation (and the metrics computed in it) must not move the training random stream."""
        if trainer.training or trainer.state.fn == "fit":
            self._rng_before_validation = rng_states()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Put the training random stream back as it was before validation: how often a run
        validates then never changes its training (and a resumed run matches a straight one)."""
        if self._rng_before_validation is not None:
            set_rng_states(self._rng_before_validation)
            self._rng_before_validation = None

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Keep the run's identity and random state (``checkpoint["genexp"]``) in every checkpoint."""
        state = checkpoint.setdefault("genexp", {})
        state["wandb_run_id"] = wandb_run_id(trainer)
        state["rng"] = rng_states()
        _start_next_epoch_on_resume(trainer, checkpoint)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Keep the checkpoint's random state until training restarts (:meth:`on_train_start`)."""
        self._rng_to_restore = checkpoint.get("genexp", {}).get("rng")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Restore the random state of a resumed run just before its first training batch."""
        if self._rng_to_restore is not None:
            set_rng_states(self._rng_to_restore)
            self._rng_to_restore = None
        _fresh_epoch_after_epoch_end_checkpoint(trainer)


def _start_next_epoch_on_resume(trainer: L.Trainer, checkpoint: dict[str, Any]) -> None:
    """A checkpoint written at the end of an epoch still counts that epoch's batches as the
    current ones, and Lightning then trains one more batch of the finished epoch after a resume;
    reset them, so the resumed run starts the next epoch at its first batch, as a straight run does."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress")
    total = trainer.num_training_batches
    if not progress or not isinstance(total, int) or progress["current"]["completed"] < total:
        return
    progress["current"] = {key: 0 for key in progress["current"]}
    progress["is_last_batch"] = False


def _fresh_epoch_after_epoch_end_checkpoint(trainer: L.Trainer) -> None:
    """Start the epoch after an epoch-end checkpoint (see :func:`_start_next_epoch_on_resume`) as
    a straight run starts it: Lightning would otherwise spend the resumed loop's first iteration
    skipping the finished epoch's validation without a batch, and count that iteration as a
    logging step, so every later log row would carry a step one higher than the straight run's."""
    loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
    if loop is None or not loop.restarting or not loop.restarted_on_last:
        return
    if loop.batch_progress.current.ready == 0:  # the epoch's counters were reset: nothing to finish
        loop.restarting = False


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

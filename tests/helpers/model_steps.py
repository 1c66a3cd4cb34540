"""Train a ``configs/model/*.yaml`` a few steps in this process (no CLI start-up), built exactly as
``genexp.train`` builds it, and report the step losses and what the nets computed in.

The in-process sibling of ``tests/models/test_every_model.py``'s CLI runs: the same model list and
``_smoke_`` overrides, for checks that must run every model under other trainer settings (e.g.
``trainer.precision=bf16-mixed``) without a subprocess per model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import lightning as L
import torch
from torch import nn

from genexp.config import CONFIG_DIR, smoke_overrides
from genexp.run_record import RunRecord
from genexp.train import build_run

from .configs import compose_train

MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
"""Every model config (the list tests/models/test_every_model.py trains through the CLI)."""


@dataclass
class StepReport:
    """What a few training steps produced: the loss of every step, and the dtypes the outputs of
    the nets' Linear/Conv layers had (forward hooks, stages included)."""

    losses: list[float] = field(default_factory=list)
    output_dtypes: set[torch.dtype] = field(default_factory=set)
    model: Any = None
    trainer: Any = None

    @property
    def finite(self) -> bool:
        """Every step's loss is a finite number."""
        return bool(self.losses) and all(math.isfinite(v) for v in self.losses)


class _LossRecorder(L.Callback):
    """Appends each training step's returned loss to a :class:`StepReport`."""

    def __init__(self, report: StepReport) -> None:
        self.report = report

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self.report.losses.append(float(loss.detach().float()))


def train_model_steps(
    model: str,
    tmp_path: Path,
    *overrides: str,
    steps: int = 2,
    before_fit: Optional[Callable[[Any, Any], None]] = None,
) -> StepReport:
    """Fit ``model`` (its ``_smoke_`` dataset and sizes) for ``steps`` optimizer steps with
    ``overrides`` (e.g. ``trainer.precision=bf16-mixed``); no logger, callbacks or metrics.
    ``before_fit(module, trainer)`` runs just before ``trainer.fit`` (e.g. to add hooks)."""
    cfg = compose_train(
        [
            f"model={model}",
            *smoke_overrides(model),
            "trainer=smoke",
            f"trainer.max_steps={steps}",
            "trainer.enable_progress_bar=false",
            "logger=none",
            "metric=none",
            "callbacks=none",
            *overrides,
        ],
        tmp_path,
    )
    L.seed_everything(int(cfg.seed), verbose=False)
    report = StepReport()
    datamodule, module, trainer, _ = build_run(
        cfg, RunRecord(tmp_path / "run"), groups=(), with_loggers=False, enable_checkpointing=False
    )
    trainer.callbacks.append(_LossRecorder(report))
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            layer.register_forward_hook(lambda m, args, out: report.output_dtypes.add(out.dtype))
    if before_fit is not None:
        before_fit(module, trainer)
    trainer.fit(module, datamodule=datamodule)
    report.model, report.trainer = module, trainer
    return report

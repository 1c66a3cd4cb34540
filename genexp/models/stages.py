"""Frozen earlier stages of staged models (PGMGAN's partitioner, SC-GAN's encoder and mappers),
trained inside the one run.

A staged model trains its earlier stages in ``on_fit_start`` (after Lightning has restored a
resumed checkpoint, before the first training batch) with plain PyTorch loops on the datamodule's
training tensors, and freezes them. :func:`run_stage` does the bookkeeping every stage shares:

- ``source`` set (a ``stage_<name>.pt`` of an earlier run, e.g. ``model.partitioner_ckpt=...``):
  load it instead of training;
- otherwise train it on rank 0 with ``train()``;
- write ``<run>/checkpoints/stage_<name>.pt`` (the modules' state dicts and the stage's
  diagnostics), record the diagnostics as ``stage/<name>/<key>`` in metrics.json, and copy rank 0's
  weights to every other rank.

The model keeps a "stage done" flag as a buffer, so a resumed run (whose checkpoint restores the
frozen modules too) never retrains a stage. (VaDE's whole-model stage checkpoints are in
:mod:`genexp.models.stage_checkpoints`.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch
from torch import Tensor, nn

from genexp.errors import CheckpointError


def stage_file(trainer: Any, name: str) -> Optional[Path]:
    """``<run>/checkpoints/stage_<name>.pt`` of the trainer's run (None without a trainer)."""
    if trainer is None:
        return None
    from genexp.callbacks.results import run_dir

    return run_dir(trainer) / "checkpoints" / f"stage_{name}.pt"


def save_stage(path: Path, modules: Mapping[str, nn.Module], info: Mapping[str, Any]) -> None:
    """Write the modules' state dicts and the stage's diagnostics to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"modules": {k: m.state_dict() for k, m in modules.items()}, "info": dict(info)}, path)


def load_stage(path: str | Path, modules: Mapping[str, nn.Module]) -> dict[str, Any]:
    """Load a :func:`save_stage` file into ``modules``; returns its diagnostics."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"stage checkpoint {path} does not exist; give a <run>/checkpoints/stage_<name>.pt file"
        )
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(blob, dict) or "modules" not in blob:
        raise CheckpointError(f"{path} is not a genexp stage checkpoint")
    for key, module in modules.items():
        if key not in blob["modules"]:
            raise CheckpointError(
                f"{path} has no {key!r} (it holds {sorted(blob['modules'])}); wrong stage file?"
            )
        try:
            module.load_state_dict(blob["modules"][key])
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{path}: {key} does not fit this model's config ({first})") from None
    return dict(blob.get("info", {}))


def freeze(module: nn.Module) -> nn.Module:
    """No gradients for ``module``'s parameters (leftover ones dropped), and eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
        p.grad = None
    return module.eval()


def train_tensor(trainer: Any) -> Tensor:
    """The datamodule's decoded training inputs (all of them)."""
    dm = getattr(trainer, "datamodule", None)
    if dm is None or not hasattr(dm, "get_data"):
        raise RuntimeError("a staged model needs a genexp datamodule (trainer.fit(model, datamodule=...))")
    return dm.get_data("train")[0]


def run_stage(
    trainer: Any,
    name: str,
    modules: Mapping[str, nn.Module],
    train: Callable[[], Mapping[str, Any]],
    source: Optional[str] = None,
) -> dict[str, Any]:
    """Load ``source`` or run ``train()`` (rank 0); save, record and share the stage (see the module doc)."""
    rank0 = trainer is None or trainer.global_rank == 0
    info: dict[str, Any] = {}
    if source:
        info = {**load_stage(source, modules), "loaded_from": str(source)}
    elif rank0:
        for m in modules.values():
            m.train()
            for p in m.parameters():
                p.requires_grad_(True)
        info = dict(train())
    if trainer is not None and trainer.world_size > 1:
        states = trainer.strategy.broadcast({k: m.state_dict() for k, m in modules.items()}, src=0)
        for k, m in modules.items():
            m.load_state_dict(states[k])
        info = trainer.strategy.broadcast(info, src=0)
    for m in modules.values():
        freeze(m)
    path = stage_file(trainer, name)
    if rank0 and path is not None:
        save_stage(path, modules, info)
        from genexp.callbacks.results import record_metrics

        record_metrics(
            trainer, {f"stage/{name}/{k}": v for k, v in info.items() if isinstance(v, (int, float, str))}
        )
    return info

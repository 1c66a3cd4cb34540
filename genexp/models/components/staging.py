"""The one staging mechanism of genexp's staged models.

A staged model (VaDE: pretrain -> gmm_init -> joint; PGMGAN: partitioner -> GAN; SC-GAN: encoder ->
mappers -> generator; GTN: pairs -> regression; latent GTN: autoencoder -> pairs -> regression)
runs its earlier stages inside the one ``trainer.fit`` of the run, in ``on_fit_start`` (after
Lightning restored a resumed checkpoint, on the run's device and precision), and its last stage is
the ordinary training loop. Each earlier stage is a :class:`Stage`:

- it has a **name**; its **artefact** (the state dicts of the modules it produces, plus any tensors
  it computes) is saved as ``<run>/stages/<name>.pt``, with the stage's diagnostics, which are also
  recorded as ``stage/<name>/<key>`` in ``metrics.json``;
- a **resumed run never redoes a finished stage**: the model keeps one ``stages_done`` flag per
  stage in its state dict (so the Lightning checkpoint restores it), and a run whose folder holds
  a stage's artefact (e.g. killed after that stage, before any checkpoint) loads it instead of
  training again;
- a stage's artefact **from another run** is given as ``model.stages.<name>=<path to its .pt>``;
- stages train on rank 0 with plain loops on the model's device (never a Trainer of their own),
  and rank 0's result is broadcast to the other ranks.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Mapping, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.data.base import fits_on_device
from genexp.errors import CheckpointError, ConfigError
from genexp.run_record import run_record

STAGES_FOLDER = "stages"


@dataclass
class Stage:
    """One earlier stage of a staged model.

    Args:
        name: the stage's name (its artefact file and its ``model.stages.<name>`` key).
        train: runs the stage (rank 0) and returns its diagnostics (numbers or strings).
        modules: the modules the stage produces; their state dicts are the artefact.
        tensors: extra artefact content computed by the stage (e.g. GTN's pairs), read after
            ``train``; ``restore`` puts a loaded copy back. A stage with tensors is restored from
            its artefact on resume, since its tensors are not in the model's state dict.
        restore: receives the artefact's tensors when the stage is loaded instead of trained.
        meta: returns the values a saved artefact must match to be reused (e.g. a pairing's seed
            and the fingerprint of the autoencoder whose codes it paired); read when the stage is
            reached, after the stages before it.
        freeze: freeze ``modules`` after the stage (no gradients, eval mode).
    """

    name: str
    train: Callable[[], Mapping[str, Any]]
    modules: Mapping[str, nn.Module] = field(default_factory=dict)
    tensors: Optional[Callable[[], dict[str, Any]]] = None
    restore: Optional[Callable[[dict[str, Any]], None]] = None
    meta: Callable[[], Mapping[str, Any]] = dict
    freeze: bool = True


def freeze(module: nn.Module) -> nn.Module:
    """No gradients for ``module``'s parameters (leftover ones dropped), and eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
        p.grad = None
    return module.eval()


def unfreeze(module: nn.Module) -> nn.Module:
    """Gradients on and train mode (before a stage trains ``module``)."""
    for p in module.parameters():
        p.requires_grad_(True)
    return module.train()


def stage_path(folder: Path, name: str) -> Path:
    """``<run>/stages/<name>.pt``."""
    return Path(folder) / STAGES_FOLDER / f"{name}.pt"


def save_artefact(path: Path, stage: Stage, info: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Write the stage's module state dicts, tensors, meta and diagnostics to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "stage": stage.name,
        "modules": {k: m.state_dict() for k, m in stage.modules.items()},
        "tensors": stage.tensors() if stage.tensors is not None else {},
        "meta": dict(meta),
        "info": dict(info),
    }
    tmp = path.with_suffix(".pt.tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def read_artefact(path: str | Path, name: str) -> dict[str, Any]:
    """A stage artefact file, checked to be one (CheckpointError with the fix otherwise)."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"model.stages.{name}={path}: no such file; give a <run>/{STAGES_FOLDER}/{name}.pt file"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # any unpickling failure: the file is unusable
        raise CheckpointError(
            f"model.stages.{name}={path} cannot be read ({type(err).__name__}); it is corrupt"
        ) from None
    if not isinstance(blob, dict) or "modules" not in blob:
        raise CheckpointError(f"model.stages.{name}={path} is not a genexp stage artefact")
    return blob


def load_artefact(blob: Mapping[str, Any], stage: Stage, where: str) -> dict[str, Any]:
    """Put a read artefact into the stage's modules (and ``restore``); returns its diagnostics."""
    if blob.get("stage", stage.name) != stage.name:
        raise CheckpointError(f"{where} holds stage {blob.get('stage')!r}, not {stage.name!r}; wrong file?")
    for key, module in stage.modules.items():
        if key not in blob["modules"]:
            raise CheckpointError(
                f"{where} has no {key!r} (it holds {sorted(blob['modules'])}); wrong stage file?"
            )
        try:
            module.load_state_dict(blob["modules"][key])
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{where}: {key} does not fit this model's config ({first})") from None
    if stage.restore is not None:
        stage.restore(dict(blob.get("tensors", {})))
    return dict(blob.get("info", {}))


class StagedModel:
    """Mixin of a LightningModule with earlier stages (see the module docstring).

    Call :meth:`init_stages` in ``__init__`` with the stage names in order and the
    ``model.stages`` mapping, and :meth:`run_stages` with the :class:`Stage` objects in
    ``on_fit_start`` (and wherever the stages' results are needed before fitting).
    """

    def init_stages(
        self, names: Sequence[str], sources: Optional[Mapping[str, Optional[str]]] = None
    ) -> None:
        """Declare the stages; ``sources``: stage name -> artefact of another run (or null)."""
        self.stage_names = tuple(names)
        given = {k: v for k, v in dict(sources or {}).items() if v not in (None, "")}
        unknown = sorted(set(given) - set(self.stage_names))
        if unknown:
            raise ConfigError(
                f"model.stages.{unknown[0]} is not a stage of this model; its stages "
                f"are: {', '.join(self.stage_names)}"
            )
        self.stage_sources = {k: str(v) for k, v in given.items()}
        self.register_buffer("stages_done", torch.zeros(len(self.stage_names), dtype=torch.bool))

    def stage_done(self, name: str) -> bool:
        """Whether stage ``name`` has run (or been loaded) in this run."""
        return bool(self.stages_done[self.stage_names.index(name)])

    def stage_context(self) -> ContextManager[Any]:
        """The run's precision context (e.g. bf16 autocast) for a stage's forward passes."""
        trainer = getattr(self, "_trainer", None)
        plugin = getattr(trainer, "precision_plugin", None) if trainer is not None else None
        return plugin.forward_context() if plugin is not None else nullcontext()

    def run_stages(self, stages: Sequence[Stage]) -> dict[str, Any]:
        """Run, load or skip each stage in order; returns the diagnostics of those run or loaded."""
        trainer = getattr(self, "_trainer", None)
        info: dict[str, Any] = {}
        for stage in stages:
            info.update(self._run_stage(trainer, stage))
        return info

    def _run_stage(self, trainer: Any, stage: Stage) -> dict[str, Any]:
        index = self.stage_names.index(stage.name)
        if bool(self.stages_done[index]) and stage.tensors is None:
            if stage.freeze:  # restored with the model's state dict (resumed run): frozen again
                for m in stage.modules.values():
                    freeze(m)
            return {}
        record = run_record(trainer)
        own = stage_path(record.folder_of(trainer), stage.name) if trainer is not None else None
        rank0 = trainer is None or trainer.global_rank == 0
        source = self.stage_sources.get(stage.name)
        meta = dict(stage.meta())
        info: Optional[dict[str, Any]] = None
        if source:
            blob = read_artefact(source, stage.name)
            _check_meta(blob, meta, f"model.stages.{stage.name}={source}")
            info = {**load_artefact(blob, stage, source), "loaded_from": str(source)}
        elif own is not None and own.is_file():
            blob = read_artefact(own, stage.name)
            if dict(blob.get("meta", {})) == meta:
                info = {**load_artefact(blob, stage, str(own)), "restored_from": str(own)}
        if info is None:
            info = {}
            if rank0:
                for m in stage.modules.values():
                    unfreeze(m)
                with self.stage_context():
                    info = dict(stage.train())
        if trainer is not None and trainer.world_size > 1:
            states = trainer.strategy.broadcast({k: m.state_dict() for k, m in stage.modules.items()}, src=0)
            for k, m in stage.modules.items():
                m.load_state_dict(states[k])
            if stage.tensors is not None and stage.restore is not None:
                stage.restore(trainer.strategy.broadcast(stage.tensors() if rank0 else {}, src=0))
            info = trainer.strategy.broadcast(info, src=0)
        if stage.freeze:
            for m in stage.modules.values():
                freeze(m)
        if rank0 and own is not None and "restored_from" not in info:
            save_artefact(own, stage, info, meta)
        if rank0 and trainer is not None:
            record.record(
                trainer,
                {f"stage/{stage.name}/{k}": v for k, v in info.items() if isinstance(v, (int, float, str))},
            )
        self.stages_done[index] = True
        return info


def _check_meta(blob: Mapping[str, Any], meta: Mapping[str, Any], where: str) -> None:
    saved = dict(blob.get("meta", {}))
    for key, value in meta.items():
        if key in saved and saved[key] != value:
            raise CheckpointError(
                f"{where} was made with {key}={saved[key]!r}, this run has {value!r}; "
                "use a matching run's artefact"
            )


def fingerprint(module: nn.Module) -> str:
    """A short sha256 of a module's state dict (names, shapes and values)."""
    digest = hashlib.sha256()
    for key, value in module.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def train_tensor(trainer: Any) -> Tensor:
    """The datamodule's decoded training inputs (all of them)."""
    dm = getattr(trainer, "datamodule", None)
    if dm is None or not hasattr(dm, "get_data"):
        raise RuntimeError("a staged model needs a genexp datamodule (trainer.fit(model, datamodule=...))")
    return dm.get_data("train")[0]


def batches(x: Tensor, batch_size: int, epochs: int, device: torch.device) -> Iterator[Tensor]:
    """Shuffled mini-batches of ``x`` on ``device`` for ``epochs`` epochs (torch's global RNG;
    each epoch's permutation is drawn on the CPU, so the order is the same on every device).

    On an accelerator ``x`` is copied there once when it fits (:func:`fits_on_device`), so a
    stage step makes no host-to-device copy; else each batch is copied."""
    device = torch.device(device)
    if device.type != "cpu" and fits_on_device(x.numel() * x.element_size(), device):
        x = x.to(device)
    for _ in range(max(0, int(epochs))):
        order = torch.randperm(len(x)).to(x.device)
        for i in range(0, len(x), batch_size):
            yield x[order[i : i + batch_size]].to(device, non_blocking=True)


def fit_loss(
    loss_fn: Callable[[Tensor], Tensor],
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    batch_size: int,
    epochs: int,
    device: torch.device,
) -> dict[str, float]:
    """Minimise ``loss_fn(batch)`` over ``epochs`` shuffled passes of ``x``; returns the first and
    last epoch's mean loss (``loss_first``, ``loss_last``) and the step count."""
    per_epoch = max(1, -(-len(x) // batch_size))
    sums: list[float] = []
    running = torch.zeros((), device=device)
    steps = 0
    for batch in batches(x, batch_size, epochs, device):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(batch)
        loss.backward()
        optimizer.step()
        running += loss.detach().float()
        steps += 1
        if steps % per_epoch == 0:
            sums.append(float(running) / per_epoch)
            running.zero_()
    if not sums:
        return {"steps": steps}
    return {"loss_first": sums[0], "loss_last": sums[-1], "steps": steps}

"""Lightning's optimisation step without the calls that do nothing (genexp's lean path).

Lightning's automatic optimisation runs each step through a closure, the strategy, the precision
plugin and ``LightningOptimizer`` and calls eight LightningModule hooks and four callback hooks on
the way (``on_before_zero_grad``, ``optimizer_zero_grad``, ``on_before_backward``, ``backward``,
``on_after_backward``, ``on_before_optimizer_step``, ``configure_gradient_clipping``,
``optimizer_step``), each with a profiler context and two ``nn.Module.__setattr__`` calls, whether
anything overrides them or not. On a small model that costs a noticeable part of a step.

The lean path does the same work in the same order (training step, zero grad, backward, gradient
clipping, optimizer step, with gradient accumulation and DDP's ``no_sync`` while accumulating) and
the same progress counting (so ``global_step``, checkpoints and resume are unchanged), and calls a
hook only where the module or a callback overrides it. It is used only where it is exactly
equivalent (:func:`lean_plan`): Lightning's plain profiler, a strategy and precision plugin whose
backward and optimizer step are the base ones (single device, DDP; 32/64/16/bf16-true and
bf16-mixed; not 16-mixed's grad scaler), torch optimizers that take no closure (not LBFGS), and a
module that does not override ``optimizer_step``. Anywhere else Lightning's own path runs.

:func:`install` switches a trainer's automatic-optimisation loop to :class:`LeanAutomaticOptimization`
(genexp's base module calls it in ``on_train_start``); manual-optimisation models call
:func:`lean_update` (``GenerativeModule.optimizer_update``) instead of ``manual_backward`` and
``LightningOptimizer.step``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import lightning as L
import torch
from lightning.pytorch.loops.optimization.automatic import Closure, _AutomaticOptimization
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop
from lightning.pytorch.loops.utilities import _block_parallel_sync_behavior
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import DDPStrategy, Strategy
from lightning.pytorch.trainer import call
from lightning.pytorch.utilities.signature_utils import is_param_in_hook_signature
from torch import Tensor

MODULE_HOOKS = (
    "on_before_zero_grad",
    "optimizer_zero_grad",
    "on_before_backward",
    "backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "configure_gradient_clipping",
)
CALLBACK_HOOKS = (
    "on_before_zero_grad",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
)
PRECISION_METHODS = (
    "pre_backward",
    "backward",
    "post_backward",
    "optimizer_step",
    "_wrap_closure",
    "_after_closure",
)


@dataclass(frozen=True)
class LeanPlan:
    """Which of the step's hooks someone overrides (only those are called), for one fit."""

    key: tuple[Any, ...]
    module_hooks: frozenset[str]
    callback_hooks: frozenset[str]

    def hook(self, trainer: L.Trainer, name: str, *args: Any) -> None:
        """Call the callbacks' and then the module's ``name`` hook, where overridden."""
        if name in self.callback_hooks:
            call._call_callback_hooks(trainer, name, *args)
        if name in self.module_hooks:
            call._call_lightning_module_hook(trainer, name, *args)


def _overrides(obj: Any, base: type, name: str) -> bool:
    return name in getattr(obj, "__dict__", {}) or getattr(type(obj), name, None) is not getattr(base, name)


def _plain_machinery(trainer: L.Trainer, module: L.LightningModule) -> bool:
    """Whether the strategy, precision plugin and profiler add nothing to backward and step."""
    strategy, precision = trainer.strategy, trainer.precision_plugin
    if type(trainer.profiler) not in (PassThroughProfiler, LeanProfiler) or getattr(module, "_fabric", None):
        return False
    if type(strategy).backward is not Strategy.backward:
        return False
    step = type(strategy).optimizer_step
    if step is not Strategy.optimizer_step and not (
        step is DDPStrategy.optimizer_step and getattr(strategy, "_model_averager", None) is None
    ):
        return False
    if type(precision) is MixedPrecision:  # bf16-mixed: autocast in the forward only, no scaler
        return precision.scaler is None
    return all(getattr(type(precision), m) is getattr(Precision, m) for m in PRECISION_METHODS)


def _plain_optimizer(optimizer: Any) -> bool:
    """A torch optimizer whose ``step()`` needs no closure (the closure is run before it instead)."""
    raw = getattr(optimizer, "optimizer", optimizer)
    return type(raw).__module__.startswith("torch.optim") and not isinstance(raw, torch.optim.LBFGS)


def lean_plan(trainer: Optional[L.Trainer]) -> Optional[LeanPlan]:
    """The hooks to call on the lean path for ``trainer``'s fit, or None where Lightning's own path
    must run. Computed once per set of callbacks and module (cached on the trainer)."""
    module = trainer.lightning_module if trainer is not None else None
    if module is None:
        return None
    key = (id(module), module.automatic_optimization, id(trainer.strategy), id(trainer.precision_plugin))
    key += (id(trainer.profiler), *map(id, trainer.optimizers), *map(id, trainer.callbacks))
    cached = getattr(trainer, "_genexp_lean_plan", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    plan = None
    eligible = getattr(module, "lean_steps", True) and _plain_machinery(trainer, module)
    if eligible and all(_plain_optimizer(o) for o in trainer.optimizers):
        if not (module.automatic_optimization and _overrides(module, L.LightningModule, "optimizer_step")):
            plan = LeanPlan(
                key,
                frozenset(h for h in MODULE_HOOKS if _overrides(module, L.LightningModule, h)),
                frozenset(
                    h for h in CALLBACK_HOOKS if any(_overrides(c, L.Callback, h) for c in trainer.callbacks)
                ),
            )
    trainer._genexp_lean_plan = (key, plan)
    return plan


def lean_backward(trainer: L.Trainer, plan: LeanPlan, loss: Tensor, optimizer: Any) -> None:
    """``Strategy.backward`` on the lean path: strategy pre/post hooks, the overridden module and
    callback hooks, and ``loss.backward()`` (or the module's own ``backward``)."""
    strategy, module = trainer.strategy, trainer.lightning_module
    strategy.pre_backward(loss)
    plan.hook(trainer, "on_before_backward", loss)
    if "backward" in plan.module_hooks:
        module.backward(loss)
    else:
        loss.backward()
    plan.hook(trainer, "on_after_backward")
    strategy.post_backward(loss.detach())


def lean_update(module: L.LightningModule, optimizers: Sequence[Any], loss: Tensor) -> bool:
    """Manual optimisation's zero grad -> ``manual_backward`` -> ``LightningOptimizer.step`` for each
    of ``optimizers`` (from ``module.optimizers()``) on the lean path; False (and nothing done)
    where the lean path does not apply."""
    trainer = module._trainer
    plan = lean_plan(trainer) if trainer is not None and not module.automatic_optimization else None
    if plan is None or not all(hasattr(o, "_on_before_step") for o in optimizers):
        return False
    for opt in optimizers:
        opt.optimizer.zero_grad(set_to_none=True)
    lean_backward(trainer, plan, loss, None)
    for opt in optimizers:
        opt._on_before_step()  # the manual loop's step counting (global_step)
        plan.hook(trainer, "on_before_optimizer_step", opt.optimizer)
        opt.optimizer.step()
        opt._on_after_step()
    return True


class LeanAutomaticOptimization(_AutomaticOptimization):
    """Lightning's automatic-optimisation loop, on the lean path where :func:`lean_plan` allows."""

    def run(self, optimizer: torch.optim.Optimizer, batch_idx: int, kwargs: Any) -> dict[str, Any]:
        """Training step, zero grad, backward and (unless accumulating) clip and step."""
        trainer = self.trainer
        plan = lean_plan(trainer)
        if plan is None or self._skip_backward or trainer.strategy.handles_gradient_accumulation:
            return super().run(optimizer, batch_idx, kwargs)
        if trainer.fit_loop._should_accumulate():
            with _block_parallel_sync_behavior(trainer.strategy, block=True):
                result = self._lean_closure(plan, optimizer, batch_idx, kwargs)
        else:
            self.optim_progress.optimizer.step.increment_ready()
            result = self._lean_closure(plan, optimizer, batch_idx, kwargs)
            plan.hook(trainer, "on_before_optimizer_step", optimizer)
            self._lean_clip(plan, optimizer)
            optimizer.step()
            self.optim_progress.optimizer.step.increment_completed()
        return {} if result.loss is None else result.asdict()

    def _lean_closure(self, plan: LeanPlan, optimizer: Any, batch_idx: int, kwargs: Any) -> Any:
        """What Lightning's ``Closure`` does: training step, then zero grad, then backward."""
        trainer = self.trainer
        with torch.enable_grad():
            result = self._training_step(kwargs)
            if result.closure_loss is None:
                Closure.warning_cache.warn(
                    "`training_step` returned `None`. If this was on purpose, ignore this warning..."
                )
            if batch_idx % trainer.accumulate_grad_batches == 0:
                progress = self.optim_progress.optimizer.zero_grad
                progress.increment_ready()
                plan.hook(trainer, "on_before_zero_grad", optimizer)
                progress.increment_started()
                if "optimizer_zero_grad" in plan.module_hooks:
                    call._call_lightning_module_hook(
                        trainer, "optimizer_zero_grad", trainer.current_epoch, batch_idx, optimizer
                    )
                else:
                    optimizer.zero_grad()
                progress.increment_completed()
            if result.closure_loss is not None:
                lean_backward(trainer, plan, result.closure_loss, optimizer)
        return result

    def _lean_clip(self, plan: LeanPlan, optimizer: Any) -> None:
        """Lightning's gradient clipping: the module's hook if overridden, else the trainer's setting."""
        trainer = self.trainer
        val, algorithm = trainer.gradient_clip_val, trainer.gradient_clip_algorithm
        if "configure_gradient_clipping" in plan.module_hooks:
            call._call_lightning_module_hook(
                trainer,
                "configure_gradient_clipping",
                optimizer,
                gradient_clip_val=val,
                gradient_clip_algorithm=algorithm,
            )
        elif val:
            trainer.lightning_module.clip_gradients(
                optimizer, gradient_clip_val=val, gradient_clip_algorithm=algorithm
            )


_NULL_CONTEXT = contextlib.nullcontext()


class LeanProfiler(PassThroughProfiler):
    """Lightning's default (no-op) profiler whose ``profile()`` is one shared null context instead
    of a new generator-based one per call (the trainer calls it about fifty times a step)."""

    def profile(self, action_name: str) -> contextlib.nullcontext:
        """A context that does nothing (as :class:`PassThroughProfiler`'s does)."""
        return _NULL_CONTEXT


class LeanTrainingEpochLoop(_TrainingEpochLoop):
    """Lightning's training epoch loop, reading the training step's signature once instead of at
    every step (``inspect.getfullargspec`` costs tens of microseconds)."""

    def _build_kwargs(self, kwargs: Any, batch: Any, batch_idx: int) -> Any:
        """The step's ``batch`` and, if the step takes it, ``batch_idx`` (as Lightning decides)."""
        kwargs["batch"] = batch
        step = self.trainer.lightning_module.training_step
        cached = getattr(self, "_genexp_step_signature", None)
        if cached is None or cached[0] is not getattr(step, "__func__", step):
            takes = is_param_in_hook_signature(step, "batch_idx", min_args=2)
            cached = self._genexp_step_signature = (getattr(step, "__func__", step), takes)
        if cached[1]:
            kwargs["batch_idx"] = batch_idx
        return kwargs


def install(trainer: Optional[L.Trainer]) -> bool:
    """Put ``trainer``'s fit on the lean path: its automatic-optimisation loop, epoch loop and
    default profiler change class to the lean subclasses above (the same objects with the same
    state, so nothing a checkpoint holds changes). True when the optimisation loop is lean."""
    fit_loop = getattr(trainer, "fit_loop", None)
    epoch_loop = getattr(fit_loop, "epoch_loop", None)
    loop = getattr(epoch_loop, "automatic_optimization", None)
    if type(loop) is _AutomaticOptimization:
        loop.__class__ = LeanAutomaticOptimization
    if type(epoch_loop) is _TrainingEpochLoop:
        epoch_loop.__class__ = LeanTrainingEpochLoop
    if type(getattr(trainer, "profiler", None)) is PassThroughProfiler:
        trainer.profiler.__class__ = LeanProfiler
    return isinstance(loop, LeanAutomaticOptimization)

"""The base of genexp's metric callbacks: when a metric runs, how its inputs are gathered across
DDP ranks, and where its numbers go.

Life of one evaluation (:meth:`MetricCallback.run`), on every rank:

1. :meth:`~MetricCallback.skip_reason` -> a message: warn once and skip (identical on all ranks);
2. :meth:`~MetricCallback.collect` -> inputs; every rank does its share and the shares are
   gathered with ``pl_module.all_gather`` (the only place collectives happen);
3. on rank 0 only: :meth:`~MetricCallback.score` -> ``{key: value}``, recorded as
   ``<stage>/<key>`` (``val`` every ``every_n_epochs``, ``test`` in the test phase) in the
   loggers, ``metrics.json`` and the end-of-run summary. No collective runs in this step.

Work is split in fixed chunks of ``batch_size`` rows; chunk k goes to rank ``k % world_size``
and generated chunks are seeded by (seed, k), so the gathered set, and hence the metric, is the
same whatever the number of processes.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor

from genexp.constraints import NonNegativeInt, PositiveInt
from genexp.models.base import GenerativeModule
from genexp.run_record import run_record

log = logging.getLogger(__name__)

ChunkFn = Callable[[int, int], dict[str, Tensor]]


def has_capability(module: Any, name: str) -> bool:
    """True when ``module`` offers ``name`` (an attribute that is not GenerativeModule's stub)."""
    if not hasattr(module, name):
        return False
    base = getattr(GenerativeModule, name, None)
    return base is None or getattr(type(module), name, None) is not base


def chunk_seed(seed: int, chunk: int) -> int:
    """The RNG seed of generated chunk ``chunk`` (independent of rank and world size)."""
    return (int(seed) * 1_000_003 + int(chunk)) % (2**63 - 1)


class MetricCallback(L.Callback):
    """Trigger logic, DDP gathering and recording shared by every metric callback.

    Args:
        every_n_epochs: also run at the end of every N-th validation epoch (0: never).
        at_test: run in the test phase (``trainer.test``: the end of a run, and ``genexp.evaluate``).
        batch_size: rows per chunk (generation / encoding batch; also the DDP work unit).
        strict: re-raise errors instead of logging them (errors never pass silently under DDP).
        name: the metric's name in messages and in ``<name>_protocol`` / ``<name>_error`` keys.
        key_prefix: put before every recorded key (``<stage>/<key_prefix><key>``), so a second
            instance (e.g. on another split) can run beside the first.
    """

    default_name = "metric"

    def __init__(
        self,
        every_n_epochs: NonNegativeInt = 0,
        at_test: bool = True,
        batch_size: PositiveInt = 500,
        strict: bool = False,
        name: str | None = None,
        key_prefix: str = "",
    ) -> None:
        super().__init__()
        if every_n_epochs is not None and every_n_epochs < 0:
            raise ValueError(f"every_n_epochs must be >= 0, got {every_n_epochs}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.every_n_epochs = int(every_n_epochs or 0)
        self.at_test = bool(at_test)
        self.batch_size = int(batch_size)
        self.strict = bool(strict)
        self.name = name or self.default_name
        self.key_prefix = str(key_prefix)
        self._warned: set[str] = set()

    # -- hooks ----------------------------------------------------------------------------------
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Run every ``every_n_epochs`` epochs (never during the sanity check)."""
        n = self.every_n_epochs
        if n and not trainer.sanity_checking and (trainer.current_epoch + 1) % n == 0:
            self.run(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Run at the end of the test phase."""
        if self.at_test:
            self.run(trainer, pl_module, "test")

    # -- the protocol subclasses fill in ----------------------------------------------------------
    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Why this metric cannot run here (same answer on every rank), or None."""
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Compute and gather the metric's inputs; runs on every rank (collectives allowed)."""
        raise NotImplementedError

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """Turn gathered inputs into ``{key: value}``; rank 0 only, no collectives."""
        raise NotImplementedError

    # -- driver -----------------------------------------------------------------------------------
    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> dict[str, Any] | None:
        """Skip check, collect (all ranks), score and record (rank 0). Returns the recorded dict on rank 0."""
        reason = self.skip_reason(trainer, pl_module)
        if reason is not None:
            self.warn_once(trainer, f"metric {self.name!r} skipped: {reason}")
            return None
        try:
            with torch.no_grad():
                collected = self.collect(trainer, pl_module)
        except Exception as err:
            if self.strict or trainer.world_size > 1:
                raise
            self._failed(trainer, stage, err)
            return None
        if not trainer.is_global_zero:
            return None
        try:
            values = self.score(collected, trainer, pl_module)
        except Exception as err:
            if self.strict:
                raise
            self._failed(trainer, stage, err)
            return None
        values = {f"{stage}/{self.key_prefix}{k}": v for k, v in values.items()}
        run_record(trainer).record(trainer, values)
        return values

    def warn_once(self, trainer: L.Trainer, message: str) -> None:
        """Log ``message`` once per callback, on rank 0."""
        if message in self._warned:
            return
        self._warned.add(message)
        if trainer.is_global_zero:
            log.warning(message)

    def _failed(self, trainer: L.Trainer, stage: str, err: Exception) -> None:
        if trainer.is_global_zero:
            log.error("metric %r failed: %s\n%s", self.name, err, traceback.format_exc())
            run_record(trainer).record(
                trainer, {f"{stage}/{self.name}_error": f"{type(err).__name__}: {err}"}
            )

    # -- helpers for collect() ------------------------------------------------------------------
    def gather_chunks(
        self, trainer: L.Trainer, pl_module: L.LightningModule, n: int, fn: ChunkFn
    ) -> dict[str, Tensor]:
        """Evaluate ``fn(start, stop)`` over rows ``[0, n)`` in chunks shared among ranks; return the
        concatenation, in row order, on every rank (CPU tensors).

        ``fn`` returns a dict of tensors with ``stop - start`` rows (bool tensors become long).
        """
        if n < 1:
            raise ValueError("nothing to evaluate (n = 0)")
        chunk, world, rank = self.batch_size, trainer.world_size, trainer.global_rank
        n_chunks = math.ceil(n / chunk)
        slots = math.ceil(n_chunks / world)

        def padded(out: dict[str, Tensor]) -> dict[str, Tensor]:
            res = {}
            for key, v in out.items():
                v = v.detach().long() if v.dtype == torch.bool else v.detach()
                if len(v) < chunk:
                    v = torch.cat([v, v.new_zeros(chunk - len(v), *v.shape[1:])])
                res[key] = v
            return res

        parts: list[dict[str, Tensor] | None] = []
        for j in range(slots):
            k = j * world + rank
            parts.append(padded(fn(k * chunk, min(n, (k + 1) * chunk))) if k < n_chunks else None)
        template = next((p for p in parts if p is not None), None)
        if template is None:  # fewer chunks than ranks: this rank only contributes padding
            template = padded(fn(0, min(n, chunk)))
        parts = [p if p is not None else {k: torch.zeros_like(v) for k, v in template.items()} for p in parts]
        local = {key: torch.cat([p[key] for p in parts]) for key in template}
        if world == 1:
            return {k: v[:n].cpu() for k, v in local.items()}
        gathered = pl_module.all_gather({k: v.to(pl_module.device) for k, v in local.items()})
        out = {}
        for key, g in gathered.items():
            rest = g.shape[2:]
            g = g.reshape(world, slots, chunk, *rest).transpose(0, 1).reshape(slots * world * chunk, *rest)
            out[key] = g[:n].cpu()
        return out

    def seeded(self, pl_module: L.LightningModule, seed: int, start: int) -> Any:
        """A context in which the global RNGs are seeded for the chunk starting at row ``start``
        (``chunk_seed(seed, start // batch_size)``) and restored afterwards."""
        return _SeededChunk(pl_module.device, chunk_seed(seed, start // self.batch_size))

    def gather_samples(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        n: int,
        seed: int,
        transform: Callable[[Tensor], dict[str, Tensor]] | None = None,
    ) -> dict[str, Tensor]:
        """``n`` samples from ``pl_module.sample``, chunk k drawn under seed ``chunk_seed(seed, k)``
        (the caller's RNG state is restored). ``transform`` maps a sample batch to the tensors
        to keep (default ``{"x": samples}``)."""

        def fn(start: int, stop: int) -> dict[str, Tensor]:
            with self.seeded(pl_module, seed, start):
                x = pl_module.sample(stop - start)
            return transform(x) if transform is not None else {"x": x}

        return self.gather_chunks(trainer, pl_module, n, fn)

    def gather_rows(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        x: Tensor,
        y: Tensor | None,
        fn: Callable[[Tensor, Tensor | None], dict[str, Tensor]],
    ) -> dict[str, Tensor]:
        """Apply ``fn(x_batch_on_device, y_batch)`` to a data tensor in shared chunks; gather the results."""
        device = pl_module.device

        def chunk_fn(start: int, stop: int) -> dict[str, Tensor]:
            yb = y[start:stop] if y is not None else None
            return fn(x[start:stop].to(device), yb)

        return self.gather_chunks(trainer, pl_module, len(x), chunk_fn)


class _SeededChunk:
    """``torch.random.fork_rng`` + ``torch.manual_seed(seed)``, on the CPU and the module's GPU."""

    def __init__(self, device: torch.device, seed: int) -> None:
        devices = []
        if device.type == "cuda":
            devices = [device.index if device.index is not None else torch.cuda.current_device()]
        self._fork = torch.random.fork_rng(devices=devices)
        self.seed = seed

    def __enter__(self) -> None:
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)


def datamodule_of(trainer: L.Trainer) -> Any:
    """The trainer's datamodule, or None."""
    return getattr(trainer, "datamodule", None)

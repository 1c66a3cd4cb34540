"""The base LightningModule every genexp model derives from, and the capabilities it may expose."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import lightning as L
import torch
from torch import Tensor

from genexp.models import lean_optimization

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def _channels_last(t: Tensor) -> Tensor:
    """A 4-D tensor in the channels-last memory format (others unchanged)."""
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


class GenerativeModule(L.LightningModule):
    """Common ground of all genexp models.

    Capabilities metric callbacks look for (each optional, checked with ``hasattr``):

    - ``sample(n) -> Tensor``: ``n`` samples in data space (shape ``(n, *data_shape)``).
    - ``encode(x) -> Tensor``: a deterministic code (e.g. the posterior mean), shape ``(n, J)``.
    - ``encode_distribution(x) -> (mu, logvar)``: a diagonal-Gaussian posterior.
    - ``reconstruct(x) -> Tensor``: decode(encode(x)) in data space.
    - ``cluster(x) -> LongTensor``: a cluster index per sample.
    - ``anomaly_score(x) -> Tensor``: higher means more anomalous.
    - ``prior``: a :mod:`genexp.priors` object with ``sample``/``log_prob``.
    """

    def __init__(self, data_shape: Sequence[int], value_range: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)
        self.value_range = tuple(float(v) for v in value_range) if value_range is not None else None

    @property
    def data_dim(self) -> int:
        """Number of scalars in one data sample."""
        n = 1
        for s in self.data_shape:
            n *= s
        return n

    def sample(self, n: int) -> Tensor:  # pragma: no cover - every model overrides
        """Draw ``n`` samples in data space."""
        raise NotImplementedError

    @torch.no_grad()
    def sample_batched(self, n: int, batch_size: int = 1000) -> Tensor:
        """Draw ``n`` samples in batches, in eval mode, returned on the CPU."""
        was_training = self.training
        self.eval()
        out = []
        done = 0
        while done < n:
            m = min(batch_size, n - done)
            out.append(self.sample(m).detach().cpu())
            done += m
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0, *self.data_shape)

    # -- run options: ``compile`` and ``channels_last`` (top-level keys of configs/train.yaml) --------
    compile_nets: bool = False
    channels_last: bool = False

    def set_run_options(self, compile: bool = False, channels_last: bool = False) -> None:
        """How the nets run (not what they are: checkpoints load either way). ``compile``: each
        child net is compiled in place with ``torch.compile`` (same state-dict keys);
        ``channels_last``: 4-D weights and image batches use the channels-last memory format.
        Applied by :meth:`configure_model` when fitting or testing starts."""
        self.compile_nets, self.channels_last = bool(compile), bool(channels_last)

    def configure_model(self) -> None:
        """Apply :meth:`set_run_options` once (Lightning calls this before every fit and test)."""
        if self.channels_last and not getattr(self, "_channels_last_applied", False):
            self.to(memory_format=torch.channels_last)
            self._channels_last_applied = True
        if self.compile_nets and not getattr(self, "_nets_compiled", False):
            for net in self.children():
                if any(True for _ in net.parameters()):
                    net.compile()
            self._nets_compiled = True

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Move an (x, y) batch with one ``.to`` per tensor (Lightning's generic walk costs more);
        with ``channels_last``, image batches (4-D tensors) in the channels-last format."""
        if isinstance(batch, (tuple, list)) and all(isinstance(t, Tensor) for t in batch):
            if self.channels_last:
                return type(batch)(_channels_last(t.to(device, non_blocking=True)) for t in batch)
            return type(batch)(t.to(device, non_blocking=True) for t in batch)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    # -- the lean optimisation path (genexp.models.lean_optimization) ----------------------------
    lean_steps: bool = True
    """Run optimizer steps without the Lightning hooks nobody overrides (same results and step
    counts; Lightning's own path where that is not exactly equivalent, or with this False)."""

    def on_train_start(self) -> None:
        """Put the fit on the lean path (see :attr:`lean_steps`)."""
        if self.lean_steps:
            lean_optimization.install(self.trainer)

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets ``_current_fx_name`` (a plain string) around every hook call, about twenty
        # times a step; nn.Module's checks for parameters, buffers and submodules cannot apply
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def optimizer_update(self, optimizers: Any, loss: Tensor) -> None:
        """Manual optimisation: zero the grads of one optimizer from :meth:`optimizers` (or a list),
        backpropagate ``loss`` and step them all (``manual_backward`` + ``step`` semantics)."""
        opts = list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]
        if self.lean_steps and lean_optimization.lean_update(self, opts, loss):
            return
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        for opt in opts:
            opt.step()

    def log_train_step(self, values: dict[str, Any]) -> None:
        """Log per-step training scalars, only on the steps the loggers will write.

        Lightning's ``self.log`` costs a noticeable fraction of a small model's step; calling it
        only every ``trainer.log_every_n_steps`` keeps the written logs identical.
        """
        if self._trainer is None:
            return
        connector = getattr(self.trainer, "_logger_connector", None)
        if connector is not None and not (connector.should_update_logs or self.trainer.fast_dev_run):
            return
        self.log_dict({k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in values.items()})

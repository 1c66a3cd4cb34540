"""The base LightningModule every genexp model derives from, and the capabilities it may expose."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import lightning as L
import torch
from torch import Tensor

OptimizerFactory = Callable[..., torch.optim.Optimizer]


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

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Move an (x, y) batch with one ``.to`` per tensor (Lightning's generic walk costs more)."""
        if isinstance(batch, (tuple, list)) and all(isinstance(t, Tensor) for t in batch):
            return type(batch)(t.to(device, non_blocking=True) for t in batch)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

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

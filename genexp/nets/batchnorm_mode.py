"""Run a net's BatchNorm layers on the statistics of the current batch, leaving their running
statistics untouched (e.g. sampling a generator "in train mode" without changing it)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """Inside the block, every BatchNorm in ``module`` normalises with the statistics of the batch
    it sees (as in training) and neither reads nor updates its running mean, variance or counter;
    the layers' modes and flags are restored on exit. Other layers keep their mode."""
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.training, m.track_running_stats) for m in norms]
    try:
        for m in norms:
            m.train(True)
            m.track_running_stats = False  # F.batch_norm then gets no running buffers
        yield module
    finally:
        for m, (training, track) in zip(norms, saved):
            m.train(training)
            m.track_running_stats = track

"""Evaluation copies of a generator: an exponential moving average of its weights, and BigGAN's
"standing statistics" for its BatchNorm layers."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, decay: float) -> None:
    """target <- decay * target + (1 - decay) * source for every parameter; buffers (BatchNorm
    statistics, spectral-norm vectors) are copied. ``decay = 0`` copies the source."""
    t_params, s_params = list(target.parameters()), list(source.parameters())
    if decay <= 0.0:
        torch._foreach_copy_(t_params, s_params)
    else:
        torch._foreach_lerp_(t_params, s_params, 1.0 - float(decay))
    for t, s in zip(target.buffers(), source.buffers()):
        t.copy_(s)


@torch.no_grad()
def standing_batchnorm_stats(module: nn.Module, forward: Callable[[], object], passes: int = 16) -> None:
    """Replace the running statistics of every BatchNorm in ``module`` by their average over
    ``passes`` calls of ``forward()`` (which runs ``module`` on fresh inputs); only the BatchNorm
    layers see training mode, so e.g. spectral-norm vectors are left unchanged. Leaves ``module`` in
    eval mode."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    module.eval()
    if not bns or passes < 1:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes
        m.train()
    for _ in range(passes):
        forward()
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
        m.eval()

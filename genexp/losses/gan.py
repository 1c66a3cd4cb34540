"""Adversarial losses: non-saturating (logistic), hinge, and the R1 gradient penalty."""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from genexp.errors import ConfigError

GanLoss = Literal["non_saturating", "hinge"]
"""The adversarial losses a model's ``loss`` may name."""
GAN_LOSSES = get_args(GanLoss)


def check_gan_loss(name: str) -> str:
    """Validate an adversarial loss name."""
    if name not in GAN_LOSSES:
        raise ConfigError(f"unknown GAN loss {name!r}; choose one of {list(GAN_LOSSES)}")
    return name


def discriminator_loss(name: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss for real and fake logits (lower is better for D)."""
    if name == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(name: str, fake_logits: Tensor) -> Tensor:
    """The generator's loss on the discriminator's logits for its samples."""
    if name == "hinge":
        return -fake_logits.mean()
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: Tensor, real_x: Tensor) -> Tensor:
    """R1: mean squared gradient norm of D at real data (``real_x`` must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()

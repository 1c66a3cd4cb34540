"""Learning-rate schedules that torch does not ship (built from configs as ``_partial_`` targets)."""

from __future__ import annotations

import torch

from genexp.constraints import NonNegativeFloat, PositiveFloat, PositiveInt


class StepDecayWithFloor(torch.optim.lr_scheduler.LRScheduler):
    """lr = max(base_lr * gamma ** (epoch // step_size), min_lr), never above base_lr: the official
    VaDE schedule (lr x 0.9 every 10 epochs, floor 2e-4). Step it once per epoch."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        step_size: PositiveInt = 10,
        gamma: PositiveFloat = 0.9,
        min_lr: NonNegativeFloat = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if int(step_size) < 1 or not gamma > 0 or min_lr < 0:
            raise ValueError(
                f"step_size must be >= 1, gamma > 0 and min_lr >= 0, got {step_size}, {gamma}, {min_lr}"
            )
        self.step_size, self.gamma, self.min_lr = int(step_size), float(gamma), float(min_lr)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate of a group that started at ``base_lr``, after ``epoch`` epochs."""
        decayed = base_lr * self.gamma ** (max(epoch, 0) // self.step_size)
        return min(base_lr, max(decayed, self.min_lr))

    def get_lr(self) -> list[float]:
        """Every group's learning rate at the current epoch (closed form)."""
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

"""StepDecayWithFloor: the official VaDE schedule, in closed form and through an optimizer."""

from __future__ import annotations

import pytest
import torch

from genexp.models.components.lr_schedules import StepDecayWithFloor


def test_lr_decays_by_gamma_every_step_size_epochs_down_to_the_floor() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2e-3)
    sched = StepDecayWithFloor(opt, step_size=10, gamma=0.9, min_lr=2e-4)
    seen = []
    for _ in range(230):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen[0] == seen[9] == pytest.approx(2e-3)
    assert seen[10] == seen[19] == pytest.approx(1.8e-3)
    assert seen[45] == pytest.approx(2e-3 * 0.9**4)
    # 2e-3 * 0.9 ** 21 = 2.19e-4 > floor; 0.9 ** 22 would be 1.97e-4 < floor
    assert seen[219] == pytest.approx(2e-3 * 0.9**21) and seen[220] == seen[229] == pytest.approx(2e-4)


def test_the_floor_never_raises_a_small_base_lr_and_bad_values_are_refused() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-4)
    sched = StepDecayWithFloor(opt, step_size=1, gamma=0.5, min_lr=2e-4)
    assert sched.lr_at(1e-4, 0) == pytest.approx(1e-4) and sched.lr_at(1e-4, 5) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="step_size"):
        StepDecayWithFloor(opt, step_size=0)

"""Every ``configs/model/*.yaml`` trains a few steps with ``trainer.precision=bf16-mixed`` on the
CPU (Lightning's CPU autocast), in this process: the losses stay finite and the nets' layers
really compute in bfloat16. Same models and ``_smoke_`` datasets as test_every_model.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.model_steps import MODELS, train_model_steps


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_in_bf16_mixed_with_finite_losses(model: str, tmp_path: Path) -> None:
    report = train_model_steps(model, tmp_path, "trainer.precision=bf16-mixed")
    assert report.trainer.precision == "bf16-mixed"
    assert report.finite, f"{model}: step losses {report.losses}"
    assert torch.bfloat16 in report.output_dtypes, f"{model}: layers computed in {report.output_dtypes}"

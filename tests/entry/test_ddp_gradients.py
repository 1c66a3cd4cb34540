"""2 gloo DDP processes x batch b give one process x batch 2b's gradients on a VAE step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.ddp_launch import run_concurrently

JOB = Path(__file__).resolve().parents[1] / "helpers" / "ddp_grad_job.py"
BATCH = 8


@pytest.mark.slow
def test_two_processes_give_the_gradients_of_one_process_with_the_double_batch(tmp_path: Path) -> None:
    runs = {
        "one": (1, ["--devices", "1", "--batch", str(2 * BATCH), "--out", "one"]),
        "two": (2, ["--devices", "2", "--batch", str(BATCH), "--out", "two"]),
    }
    run_concurrently(JOB, runs, tmp_path)
    one = torch.load(tmp_path / "one" / "grads_rank0.pt")
    assert len(one) == 8 and all(g.abs().sum() > 0 for g in one.values())  # 4 linear layers, all used
    for rank in range(2):
        grads = torch.load(tmp_path / "two" / f"grads_rank{rank}.pt")
        assert sorted(grads) == sorted(one), rank
        for name, g in one.items():
            torch.testing.assert_close(grads[name], g, rtol=1e-5, atol=1e-7, msg=f"rank {rank}: {name}")

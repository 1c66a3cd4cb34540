"""A metric over the same samples gives the same value on 2 gloo DDP processes and on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

JOB = Path(__file__).resolve().parents[1] / "helpers" / "ddp_metric_job.py"


def run_job(tmp_path: Path, devices: int, data: str) -> dict:
    out = tmp_path / f"{data}-{devices}.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("LOCAL_RANK", None)
    proc = subprocess.run(
        [
            sys.executable,
            str(JOB),
            "--devices",
            str(devices),
            "--data",
            data,
            "--out",
            str(out),
            "--cache",
            str(tmp_path / f"cache{devices}"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def assert_same(one: dict, two: dict) -> None:
    assert one.pop("world_size") == 1 and two.pop("world_size") == 2
    assert sorted(one) == sorted(two)
    for key, value in one.items():
        if isinstance(value, float):
            assert two[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        elif isinstance(value, dict):
            assert {k: v for k, v in two[key].items() if k != "weights"} == {
                k: v for k, v in value.items() if k != "weights"
            }, key
        else:
            assert two[key] == value, key


@pytest.mark.slow
def test_image_metrics_equal_on_one_and_two_processes(tmp_path: Path) -> None:
    one, two = run_job(tmp_path, 1, "images"), run_job(tmp_path, 2, "images")
    expected = {
        "test/fid",
        "test/kid",
        "test/precision",
        "test/is",
        "test/fd_classifier",
        "test/is_classifier",
        "test/modes",
        "test/cluster_acc",
        "test/cluster_nmi",
        "test/kl_z",
        "test/log_mse_x",
        "test/log_mse_z",
    }
    assert expected <= set(one)
    assert one["test/cluster_acc"] == pytest.approx(1.0) and one["test/modes"] == 4
    assert_same(one, two)


@pytest.mark.slow
def test_toy2d_metrics_equal_on_one_and_two_processes(tmp_path: Path) -> None:
    one, two = run_job(tmp_path, 1, "grid"), run_job(tmp_path, 2, "grid")
    assert one["test/modes"] == 18 and one["test/toy2d_protocol"]["n_samples"] == 5000
    assert_same(one, two)

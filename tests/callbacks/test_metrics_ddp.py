"""A metric over the same samples gives the same value on 2 gloo DDP processes and on one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.ddp_launch import run_concurrently

JOB = Path(__file__).resolve().parents[1] / "helpers" / "ddp_metric_job.py"


def run_jobs(tmp_path: Path, data: list[str]) -> tuple[dict, dict]:
    """Rank 0's results of the job on one process and on two, both started at once."""
    runs = {
        f"devices{d}": (
            d,
            ["--devices", str(d), "--data", *data, "--out", f"out{d}.json", "--cache", f"cache{d}"],
        )
        for d in (1, 2)
    }
    run_concurrently(JOB, runs, tmp_path)
    return tuple(json.loads((tmp_path / f"out{d}.json").read_text()) for d in (1, 2))


def assert_same(one: dict, two: dict) -> None:
    assert one.pop("world_size") == 1 and two.pop("world_size") == 2
    assert sorted(one) == sorted(two)
    for key, value in one.items():
        if isinstance(value, float):
            assert two[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        elif isinstance(value, list):  # e.g. FD∞'s [[N, FD_N], ...]
            assert len(two[key]) == len(value), key
            for got, want in zip(two[key], value):
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), key
        elif isinstance(value, dict):
            assert {k: v for k, v in two[key].items() if k != "weights"} == {
                k: v for k, v in value.items() if k != "weights"
            }, key
        else:
            assert two[key] == value, key


IMAGE_KEYS = {
    "test/fid",
    "test/kid",
    "test/precision",
    "test/density",
    "test/coverage",
    "test/fid_inf",
    "test/fid_inf_points",
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


@pytest.mark.slow
def test_image_and_toy2d_metrics_equal_on_one_and_two_processes(tmp_path: Path) -> None:
    """One process group runs the image callbacks (Inception-style, domain classifier, clustering,
    latent) and then the 2-D toy callbacks."""
    one, two = run_jobs(tmp_path, ["images", "grid"])
    assert sorted(one) == sorted(two) == ["grid", "images"]
    assert IMAGE_KEYS <= set(one["images"])
    assert one["images"]["test/cluster_acc"] == pytest.approx(1.0) and one["images"]["test/modes"] == 4
    assert one["grid"]["test/modes"] == 18 and one["grid"]["test/toy2d_protocol"]["n_samples"] == 5000
    for data in ("images", "grid"):
        assert_same(one[data], two[data])

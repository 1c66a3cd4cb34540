"""Multirun sweeps (basic, joblib and submitit_local launchers) and DDP on two CPU processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import run_genexp

TINY = ["dataset=grid25", "dataset.n_train=500", "trainer=smoke", "logger=none", "metric=none"]


def _job_metrics(sweep_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/metrics.json"))]


def test_two_job_multirun(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_genexp(tmp_path, "-m", "model=vae,beta_vae", *TINY, f"hydra.sweep.dir={sweep}")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _job_metrics(sweep)
    assert len(jobs) == 2 and all(j["global_step"] == 6 for j in jobs)
    assert jobs[0]["test/loss"] != jobs[1]["test/loss"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_multirun_with_launcher_plugins(tmp_path: Path, launcher: str) -> None:
    sweep = tmp_path / "sweep"
    run = run_genexp(
        tmp_path, "-m", f"hydra/launcher={launcher}", "seed=1,2", *TINY, f"hydra.sweep.dir={sweep}"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _job_metrics(sweep)
    assert len(jobs) == 2


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vae", "gan"])
def test_ddp_cpu_two_processes(tmp_path: Path, model: str) -> None:
    run = run_genexp(
        tmp_path,
        f"model={model}",
        "trainer=ddp_cpu",
        *TINY[:2],
        "trainer.max_steps=6",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "trainer.max_epochs=-1",
        "logger=csv",
        "metric=none",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["global_step"] == 6
    assert (run.run_dir / "checkpoints" / "last.ckpt").exists()
    assert [p.name for p in run.run_dir.glob("*.log")] == ["__main__.log"]  # rank 1 writes no run files
    assert "world_size=2" in run.stdout + run.stderr or "distributed_backend=gloo" in run.stdout + run.stderr


@pytest.mark.slow
def test_multirun_with_ddp_uses_spawn(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_genexp(
        tmp_path,
        "-m",
        "model=vae",
        "seed=1,2",
        "trainer=ddp_cpu",
        *TINY[:2],
        "trainer.max_steps=4",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "trainer.max_epochs=-1",
        "logger=none",
        "metric=none",
        f"hydra.sweep.dir={sweep}",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "start_method=spawn" in run.stderr
    assert len(_job_metrics(sweep)) == 2


@pytest.mark.slow
def test_optuna_sweep_returns_the_optimized_metric(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_genexp(
        tmp_path,
        "-m",
        "hydra/sweeper=optuna_search",
        "hydra.sweeper.n_trials=2",
        "optimized_metric=test/loss",
        "model.beta=interval(0.5,2.0)",
        *TINY,
        f"hydra.sweep.dir={sweep}",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    best = (sweep / "optimization_results.yaml").read_text()
    jobs = _job_metrics(sweep)
    assert len(jobs) == 2
    assert f"best_value: {min(j['test/loss'] for j in jobs)}" in best

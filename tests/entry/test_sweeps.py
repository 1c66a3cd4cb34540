"""Multirun sweeps (basic, joblib and submitit_local launchers, Optuna), DDP on two CPU processes,
and sweeps that validate every job first, go on past a failing job and continue where killed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import checkpoint_step, run_and_kill, run_genexp
from omegaconf import DictConfig, OmegaConf

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


# -- sweeps that validate first, survive a failing job and resume (issue 15) ---------------------
SMALL = [*TINY, "model=vae", "num_threads=1"]


def _summary(sweep_dir: Path) -> list[dict]:
    return json.loads((sweep_dir / "sweep_summary.json").read_text())["jobs"]


_ckpt_step = checkpoint_step


def _start_and_kill(tmp_path: Path, args: list[str], ckpt: Path, min_step: int) -> int:
    """Start ``python -m genexp -m <args>``, SIGKILL it once ``ckpt`` holds ``min_step`` steps;
    return the checkpoint's step."""
    run_and_kill(tmp_path, ["-m", *args], lambda: ckpt.exists() and _ckpt_step(ckpt) >= min_step)
    return _ckpt_step(ckpt)


@pytest.mark.parametrize(
    ("sweep", "names"),
    [
        (["model.beta=1,-1,2"], "sweep job 1 (model.beta=-1): model.beta=-1"),
        pytest.param(
            ["hydra/sweeper=optuna_search", "model.beta=choice(1,-2)"],
            "sweep search space (model.beta=-2)",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_sweep_with_one_invalid_value_runs_nothing(tmp_path: Path, sweep: list[str], names: str) -> None:
    out = tmp_path / "sweep"
    run = run_genexp(tmp_path, "-m", *sweep, *SMALL, f"hydra.sweep.dir={out}")
    assert run.returncode == 2, run.stderr[-3000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"genexp: error: {names}"), run.stderr[-3000:]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run folder, no wandb, no cache


@pytest.mark.slow
def test_a_job_that_fails_at_run_time_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_genexp(
        tmp_path,
        "-m",
        "model.optimizer.lr=0.001,1e30,0.002",  # 1e30: the loss is NaN at step 2
        "optimized_metric=test/loss",
        *SMALL,
        f"hydra.sweep.dir={sweep}",
    )
    assert run.returncode == 1, run.stderr[-3000:]
    jobs = _summary(sweep)
    assert [j["status"] for j in jobs] == ["ok", "failed", "ok"]
    assert jobs[1]["error"].startswith("TrainingError: loss became nan")
    assert not (sweep / "1" / "metrics.json").exists()
    for job in (jobs[0], jobs[2]):
        metrics = json.loads((Path(job["run_dir"]) / "metrics.json").read_text())
        assert metrics["global_step"] == 6 and job["metric"] == metrics["test/loss"]
    rows = (sweep / "sweep_summary.csv").read_text().splitlines()
    assert rows[0].startswith("num,overrides,status,metric,run_dir,error") and len(rows) == 4
    assert "model.optimizer.lr=1e+30" in rows[2] and ",failed," in rows[2]
    table = run.stdout[run.stdout.index("genexp sweep") :]
    assert "1    model.optimizer.lr=1e+30  failed" in table and "job 1 failed: TrainingError" in table


@pytest.mark.slow
def test_an_optuna_trial_that_fails_is_a_failed_trial_of_the_study(tmp_path: Path) -> None:
    import optuna

    sweep = tmp_path / "sweep"
    run = run_genexp(
        tmp_path,
        "-m",
        "hydra/sweeper=optuna_search",
        "hydra.sweeper.n_trials=3",
        "optimized_metric=test/loss",
        "model.optimizer.lr=choice(0.001,1e30)",
        *SMALL,
        f"hydra.sweep.dir={sweep}",
    )
    assert run.returncode == 1, run.stderr[-3000:]
    study = optuna.load_study(study_name="genexp", storage=f"sqlite:///{sweep}/optuna.db")
    jobs = {int(j["num"]): j for j in _summary(sweep)}
    assert {t.state.name for t in study.trials} == {"COMPLETE", "FAIL"}  # seed 0 draws both values
    for trial in study.trials:
        job = jobs[trial.number]
        if trial.params["model.optimizer.lr"] == 1e30:
            assert trial.state.name == "FAIL" and trial.value is None and job["status"] == "failed"
        else:
            assert trial.state.name == "COMPLETE" and trial.value == job["metric"] and job["status"] == "ok"


@pytest.mark.slow
def test_a_sweep_killed_during_job_2_is_continued_in_its_folder(tmp_path: Path) -> None:
    """Jobs 0-3 (job 2 the long one): SIGKILL during job 2, then the same command again."""
    sweep = tmp_path / "sweep"
    args = [
        "trainer.max_steps=100,110,1000,120",
        "dataset.batch_size=10",
        "callbacks.last_checkpoint.every_n_train_steps=100",
        *SMALL,
        "model.encoder.hidden=[64]",
        "model.decoder.hidden=[64]",
        f"hydra.sweep.dir={sweep}",
    ]
    last = sweep / "2" / "checkpoints" / "last.ckpt"
    killed_at = _start_and_kill(tmp_path, args, last, 200)
    assert 200 <= killed_at < 1000 and not (sweep / "2" / "metrics.json").exists()
    assert not (sweep / "3").exists()
    before = {n: (sweep / n / "metrics.json") for n in ("0", "1")}
    stamps = {n: (p.stat().st_mtime_ns, p.read_text()) for n, p in before.items()}

    again = run_genexp(tmp_path, "-m", *args)
    assert again.returncode == 0, again.stderr[-3000:]
    for n, path in before.items():  # not retrained
        assert (path.stat().st_mtime_ns, path.read_text()) == stamps[n]
    jobs = _summary(sweep)
    assert [j["status"] for j in jobs] == ["skipped", "skipped", "resumed", "ok"]
    assert [int(j["num"]) for j in jobs] == [0, 1, 2, 3]
    resumed = json.loads((sweep / "2" / "metrics.json").read_text())
    assert jobs[2]["resumed_from"] == str(last)
    assert resumed["global_step"] == 1000
    assert f"Restored all states from the checkpoint at {last}" in again.stderr
    assert json.loads((sweep / "3" / "metrics.json").read_text())["global_step"] == 120
    assert "sweep job 0 already finished" in again.stderr


@pytest.mark.slow
def test_an_interrupted_optuna_sweep_continues_its_study(tmp_path: Path) -> None:
    import optuna

    sweep = tmp_path / "sweep"
    storage = f"sqlite:///{sweep}/optuna.db"
    args = [
        "hydra/sweeper=optuna_search",
        "hydra.sweeper.n_trials=3",
        "optimized_metric=test/loss",
        "model.beta=interval(0.5,2.0)",
        "trainer.max_steps=500",
        "dataset.batch_size=10",
        "callbacks.last_checkpoint.every_n_train_steps=100",
        *SMALL,
        "model.encoder.hidden=[64]",
        "model.decoder.hidden=[64]",
        f"hydra.sweep.dir={sweep}",
    ]
    last = sweep / "1" / "checkpoints" / "last.ckpt"
    killed_at = _start_and_kill(tmp_path, args, last, 100)
    assert 100 <= killed_at < 500
    first = optuna.load_study(study_name="genexp", storage=storage).trials
    assert [t.state.name for t in first] == ["COMPLETE", "RUNNING"]
    job0 = (sweep / "0" / "metrics.json").stat().st_mtime_ns

    again = run_genexp(tmp_path, "-m", *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(optuna.get_all_study_summaries(storage)) == 1
    trials = optuna.load_study(study_name="genexp", storage=storage).trials
    assert [(t.number, t.state.name) for t in trials] == [(0, "COMPLETE"), (1, "COMPLETE"), (2, "COMPLETE")]
    assert [t.params for t in trials[:2]] == [t.params for t in first]  # trial 1 finished, not redrawn
    assert trials[0].value == first[0].value and (sweep / "0" / "metrics.json").stat().st_mtime_ns == job0
    assert trials[2].params != trials[0].params  # the reseeded sampler draws new values
    for trial in trials:
        metrics = json.loads((sweep / str(trial.number) / "metrics.json").read_text())
        assert metrics["global_step"] == 500 and trial.value == metrics["test/loss"]
    assert json.loads((sweep / "1" / "job_status.json").read_text())["resumed_from"] == str(last)
    assert f"Restored all states from the checkpoint at {last}" in again.stderr
    assert f"best_value: {min(t.value for t in trials)}" in (sweep / "optimization_results.yaml").read_text()


def test_sweep_plan_lists_the_jobs_the_sweeper_will_run() -> None:
    from hydra import initialize_config_dir

    from genexp.config import CONFIG_DIR, register_resolvers
    from genexp.sweep_plan import sweep_jobs

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        jobs, numbered = sweep_jobs(["model.beta=1,2", "seed=range(2)", "dataset=grid25"])
        assert numbered and jobs == [
            ["model.beta=1", "seed=0", "dataset=grid25"],
            ["model.beta=1", "seed=1", "dataset=grid25"],
            ["model.beta=2", "seed=0", "dataset=grid25"],
            ["model.beta=2", "seed=1", "dataset=grid25"],
        ]
        jobs, numbered = sweep_jobs(
            ["hydra/sweeper=optuna_search", "model.beta=interval(0.5,2)", "seed=choice(3,4)"]
        )
        assert not numbered and jobs == [["model.beta=0.5", "seed=3"], ["model.beta=0.5", "seed=4"]]
        assert sweep_jobs(["model.beta=1"]) == ([["model.beta=1"]], False)


def _job_cfg(**values: object) -> DictConfig:
    return OmegaConf.create({"seed": 0, "resume": None, "optimized_metric": "test/loss", **values})


def test_a_sweep_job_records_a_failure_then_runs_then_is_skipped(tmp_path: Path) -> None:
    from genexp.errors import ConfigError
    from genexp.sweep_resume import read_status, run_sweep_job

    calls: list[object] = []

    def oom(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> dict:
        calls.append(cfg.resume)
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore text")

    def fine(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> dict:
        calls.append(cfg.resume)
        (run_dir / "metrics.json").write_text('{"test/loss": 1.5}')
        return {"test/loss": 1.5}

    job = tmp_path / "3"
    assert run_sweep_job(_job_cfg(), job, ["seed=0"], 3, oom) is None
    status = read_status(job)
    assert (
        status["status"] == "failed"
        and status["error"] == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert run_sweep_job(_job_cfg(), job, ["seed=0"], 3, fine) == 1.5  # resumed from its last.ckpt
    assert calls == [None, str(job / "checkpoints" / "last.ckpt")]
    assert run_sweep_job(_job_cfg(), job, ["seed=0"], 3, fine) == 1.5 and len(calls) == 2  # skipped
    assert read_status(job)["status"] == "ok" and read_status(job)["reused_at"] >= status["started_at"]
    with pytest.raises(ConfigError, match="holds a run of another config"):
        run_sweep_job(_job_cfg(seed=1), job, ["seed=1"], 3, fine)


def test_the_summary_table_names_each_jobs_status(tmp_path: Path) -> None:
    from genexp.sweep_resume import write_status
    from genexp.sweep_summary import format_table, job_row

    rows_in = [
        {"job": 0, "status": "ok", "overrides": ["seed=0", "x=1"], "metric": 2.0, "reused_at": 10.0},
        {"job": 1, "status": "failed", "overrides": ["seed=1", "x=1"], "error": "TrainingError: nan"},
        {"job": 2, "status": "running", "overrides": ["seed=2", "x=1"], "started_at": 20.0},
        {"job": 3, "status": "ok", "overrides": ["seed=3", "x=1"], "metric": 1.0, "resumed_from": "c"},
    ]
    for row in rows_in:
        write_status(tmp_path / str(row["job"]), row)
    rows = [job_row(tmp_path / str(r["job"]), "test/loss", since=5.0) for r in rows_in]
    assert [r["status"] for r in rows] == ["skipped", "failed", "interrupted", "resumed"]
    assert [r["this_run"] for r in rows] == [True, False, True, False]
    lines = format_table(rows, "test/loss").splitlines()
    assert lines[0].split() == ["job", "overrides", "status", "test/loss", "run", "folder"]
    assert lines[2].split()[:4] == ["0", "seed=0", "skipped", "2"] and lines[3].split()[3] == "-"
    assert lines[-1] == "job 1 failed: TrainingError: nan"

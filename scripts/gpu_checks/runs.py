"""In-process genexp runs for the GPU check: every model in each precision, DDP with one device,
and the evaluate entry point on that run's checkpoint. Each run goes through
:func:`genexp.train.train` (validation, build, fit, test, results file) with a
:class:`gpu_checks.probe.StepProbe` added to its callbacks; a failure is recorded and the next
run goes on."""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from unittest import mock

from bench_overhead import compose_job

from genexp.config import CONFIG_DIR, smoke_overrides

PROBE = "gpu_checks.probe.StepProbe"


@dataclass
class Settings:
    """What every run of one check shares."""

    device: str  # "cuda" or "cpu"
    out_dir: Path
    steps: int  # optimizer steps per model run
    warmup_batches: int
    callbacks: str  # the callbacks group option of the model runs
    deadline: float  # time.time() after which runs are skipped
    report_pages: bool = True  # False: model runs skip report.html (its figure costs ~1 s on a small CPU)

    @property
    def trainer(self) -> str:
        """The trainer option: ``gpu`` on CUDA, ``cpu`` otherwise."""
        return "gpu" if self.device == "cuda" else "cpu"


def all_models() -> list[str]:
    """Every ``configs/model/*.yaml``."""
    return sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))


def finite_numbers(results: dict[str, Any], prefixes: tuple[str, ...] = ("train/", "test/")) -> dict:
    """The numbers under ``prefixes`` of a results dict, with what stands for a bad one: the
    strings ``nan``/``inf`` (how a run record stores them) and a metric's ``*_error`` message."""
    bad = ("nan", "inf", "-inf")
    return {
        k: v
        for k, v in results.items()
        if k.startswith(prefixes)
        and not isinstance(v, bool)
        and (isinstance(v, (int, float)) or k.endswith("_error") or str(v) in bad)
    }


def all_finite(values: dict[str, Any]) -> bool:
    """True when every value is a finite number and there is at least one."""
    return bool(values) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values.values())


def _cleanup() -> None:
    import torch

    from genexp.train import release_process_group

    release_process_group()
    gc.collect()  # cheap once gpu_check has frozen the imported objects (gc.freeze)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _console_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        h
        for lg in loggers
        if isinstance(lg, logging.Logger)
        for h in lg.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


@contextlib.contextmanager
def captured(fh: Any) -> Iterator[None]:
    """Send stdout, stderr and the console handlers of Python's loggers (Lightning's too) to
    ``fh``; afterwards every handler that writes to ``fh`` (also one made meanwhile) writes where
    it wrote before, or to stderr."""
    before = {h: h.stream for h in _console_handlers()}
    for h in before:
        h.stream = fh
    try:
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield
    finally:
        for h in _console_handlers():
            if h.stream is fh:
                h.stream = before.get(h, sys.stderr)


def guarded(name: str, settings: Settings, body: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body(run_dir)`` with its output in ``<out>/logs/<name>.log``; return its row with
    ``status`` (``ok``, ``failed`` with ``error``, or ``skipped`` past the deadline) and
    ``wall_s``. The environment is restored afterwards (DDP sets rank variables)."""
    if time.time() > settings.deadline:
        return {"name": name, "status": "skipped", "error": "time budget spent", "wall_s": 0.0}
    run_dir = settings.out_dir / "runs" / name
    log = settings.out_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    start = time.perf_counter()
    row: dict[str, Any] = {"name": name}
    with open(log, "w") as fh, captured(fh):
        try:
            row.update(body(run_dir))
            row.setdefault("status", "ok")
        except Exception as err:  # noqa: BLE001 - record every failure and go on
            traceback.print_exc(file=fh)
            first = (str(err).strip().splitlines() or [""])[0]
            row.update(status="failed", error=f"{type(err).__name__}: {first}"[:300])
        finally:
            _cleanup()
            os.environ.clear()
            os.environ.update(env)
    row["wall_s"] = round(time.perf_counter() - start, 2)
    row["log"] = str(log.relative_to(settings.out_dir))
    return row


def save_run_config(job: Any, run_dir: Path) -> None:
    """Write ``<run_dir>/.hydra/config.yaml`` as the CLI leaves it (the run folder made explicit)."""
    from omegaconf import OmegaConf, open_dict

    job = OmegaConf.create(OmegaConf.to_container(job))
    with open_dict(job):
        job.paths.output_dir = str(run_dir)
    (Path(run_dir) / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(job, Path(run_dir) / ".hydra" / "config.yaml")


def train_row(job: Any, run_dir: Path, report_pages: bool = True) -> dict[str, Any]:
    """Train the job config ``job`` in-process with its run folder at ``run_dir``; the probe's
    figures and the finite-loss check. ``report_pages=False`` skips the run's report.html."""
    from omegaconf import OmegaConf, open_dict

    import genexp.train

    job = OmegaConf.create(OmegaConf.to_container(job))
    with open_dict(job):
        job.paths.output_dir = str(run_dir)
    save_run_config(job, run_dir)  # what the CLI leaves, for evaluate
    no_report = mock.patch.object(genexp.train, "write_report", lambda *a, **k: None)
    with contextlib.nullcontext() if report_pages else no_report:
        results = genexp.train.train(job, run_dir)
    losses = finite_numbers(results)
    row = {
        "steps": results.get("global_step"),
        "steps_per_s": results.get("check/steps_per_s"),
        "peak_mem_mib": results.get("check/peak_mem_mib"),
        "losses": losses,
        "finite": all_finite(losses),
    }
    if not row["finite"]:
        row.update(status="failed", error=f"non-finite or missing losses: {losses}")
    return row


def model_overrides(model: str, precision: str, settings: Settings) -> list[str]:
    """The command line of one model run: its smoke overrides, this check's trainer and steps."""
    return [
        f"model={model}",
        *smoke_overrides(model),
        f"trainer={settings.trainer}",
        f"trainer.precision={precision}",
        f"trainer.max_steps={settings.steps}",
        "trainer.max_epochs=-1",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "trainer.log_every_n_steps=1",
        f"trainer.enable_progress_bar={settings.callbacks != 'none'}",
        f"++trainer.enable_checkpointing={settings.callbacks != 'none'}",  # else Lightning adds its own
        "logger=csv",
        "metric=none",
        f"callbacks={settings.callbacks}",
        f"+callbacks.check_probe._target_={PROBE}",
        f"+callbacks.check_probe.warmup_batches={settings.warmup_batches}",
    ]


def run_models(models: list[str], precisions: list[str], settings: Settings) -> list[dict[str, Any]]:
    """One row per (model, precision), in that order; each model's config is composed once (the
    precisions differ in ``trainer.precision`` only); prints one line per run."""
    from omegaconf import open_dict

    rows = []
    for model in models:
        try:
            job = compose_job(model_overrides(model, precisions[0], settings), settings.out_dir)
        except Exception as err:  # noqa: BLE001 - a config that does not compose fails its rows
            job, error = None, f"{type(err).__name__}: {str(err).strip()[:300]}"
        for precision in precisions:
            if job is not None:
                with open_dict(job):
                    job.trainer.precision = precision
                body = lambda d, j=job.copy(): train_row(j, d, settings.report_pages)  # noqa: E731
                row = guarded(f"{model}-{precision}", settings, body)
            else:
                row = {"name": f"{model}-{precision}", "status": "failed", "error": error, "wall_s": 0.0}
            row.update(model=model, precision=precision)
            rows.append(row)
            print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    sps = row.get("steps_per_s")
    mem = row.get("peak_mem_mib")
    figures = f"{sps:8.1f} steps/s" if sps else " " * 16
    figures += f"  {mem:8.1f} MiB" if mem is not None else ""
    return f"  {row['name']:<34s} {row['status']:<7s} {row['wall_s']:6.1f}s {figures} {row.get('error', '')}"


def run_ddp(settings: Settings, steps: Optional[int] = None) -> dict[str, Any]:
    """The VAE on digits with ``trainer=ddp trainer.devices=1`` (the strategy path; on the CPU
    with ``trainer.accelerator=cpu``, gloo) and the default callbacks, so a checkpoint is left."""
    overrides = [
        "model=vae",
        "dataset=digits",
        "trainer=ddp",
        "trainer.devices=1",
        f"trainer.max_steps={steps or settings.steps}",
        "trainer.max_epochs=-1",
        "trainer.limit_test_batches=2",
        "trainer.log_every_n_steps=1",
        "logger=csv",
        "metric=none",
        "callbacks=default",
        f"+callbacks.check_probe._target_={PROBE}",
    ]
    if settings.device != "cuda":
        overrides.append("trainer.accelerator=cpu")
    row = guarded("ddp-devices1", settings, lambda d: train_row(compose_job(overrides, d), d))
    row["overrides"] = " ".join(overrides[:4])
    if row["status"] == "ok":
        row["checkpoint"] = str(settings.out_dir / "runs" / "ddp-devices1" / "checkpoints" / "last.ckpt")
    print(_line(row), flush=True)
    return row


def run_evaluate(ckpt: Optional[str], settings: Settings) -> dict[str, Any]:
    """``python -m genexp.evaluate ckpt=<ckpt> metric=[reconstruction,latent]`` in-process, on
    this check's trainer."""
    overrides = [f"ckpt={ckpt}", "metric=[reconstruction,latent]", f"trainer={settings.trainer}"]

    def body(_: Path) -> dict[str, Any]:
        from genexp.evaluate import evaluate, register_eval_resolvers

        if not ckpt or not Path(ckpt).is_file():
            raise FileNotFoundError(f"no checkpoint to evaluate ({ckpt}); the DDP run left none")
        register_eval_resolvers()
        out = evaluate(compose_job(overrides, Path(ckpt).parent.parent, config_name="evaluate"))
        values = finite_numbers(out, ("test/", "reconstruction/", "latent/"))
        row = {"values": len(values), "finite": all_finite(values)}
        if not row["finite"]:
            row.update(status="failed", error=f"non-finite or missing values: {values}")
        return row

    row = guarded("evaluate", settings, body)
    row["overrides"] = " ".join(overrides[1:])
    print(_line(row), flush=True)
    return row

"""One job of a ``-m`` sweep: skip, resume or run it, and record how it ended.

Every job writes ``job_status.json`` in its folder: ``running`` when it starts, then ``ok`` (with
the optimized metric) or ``failed`` (with the error). A job that fails at run time (NaN loss, an
exception in the model, out of memory) is recorded and the sweep goes on with the next job.

The status file also holds a fingerprint of the job's composed config (``.hydra/config.yaml``
without ``resume``). Re-running the same sweep command with ``hydra.sweep.dir=<that folder>``
therefore

- skips a job whose run finished (status ``ok`` and ``metrics.json``) with the same config,
- resumes a job that was interrupted or failed from its ``checkpoints/last.ckpt`` (from scratch
  when it has none),
- refuses a job folder that holds a run of another config (exit 2): the sweep changed, so its job
  numbers mean other jobs; start it in a new folder.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from omegaconf import DictConfig, OmegaConf, open_dict

from genexp.errors import ConfigError, GenexpError

STATUS_FILE = "job_status.json"
log = logging.getLogger(__name__)


def read_status(job_dir: Path) -> Optional[dict[str, Any]]:
    """The job's ``job_status.json``, or None when it has none (or it cannot be read)."""
    try:
        return json.loads((Path(job_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


def write_status(job_dir: Path, status: dict[str, Any]) -> None:
    """Write ``job_status.json`` atomically (a killed job never leaves half a file)."""
    path = Path(job_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(status, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def config_fingerprint(cfg: DictConfig) -> str:
    """A hash of the job's composed (unresolved) config, ``resume`` left out."""
    node = OmegaConf.to_container(cfg, resolve=False)
    if isinstance(node, dict):
        node.pop("resume", None)
    return hashlib.sha256(json.dumps(node, sort_keys=True, default=str).encode()).hexdigest()[:20]


def error_line(err: BaseException) -> str:
    """``<Type>: <first line of the message>``."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def finished_metric(job_dir: Path, previous: Optional[dict[str, Any]], fingerprint: str) -> Optional[dict]:
    """The previous status when this job already finished with the same config, else None."""
    if previous is None or previous.get("config") != fingerprint or previous.get("status") != "ok":
        return None
    return previous if (Path(job_dir) / "metrics.json").exists() else None


def _metric(results: dict[str, Any], key: Optional[str]) -> Optional[float]:
    value = results.get(key) if key else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _release_memory() -> None:
    """Free what a failed job left (its objects, cached GPU memory) before the next job."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # freeing memory is best effort
        pass


def run_sweep_job(
    cfg: DictConfig,
    job_dir: Path,
    overrides: list[str],
    job_num: Any,
    train_fn: Callable[[DictConfig, Path, list[str]], dict[str, Any]],
) -> Optional[float]:
    """Run one sweep job with ``train_fn`` (see the module docstring); return its optimized
    metric, or None when it failed (a sweeper such as Optuna then records the trial as failed)."""
    job_dir = Path(job_dir)
    key = cfg.get("optimized_metric")
    fingerprint = config_fingerprint(cfg)
    previous = read_status(job_dir)
    done = finished_metric(job_dir, previous, fingerprint)
    if done is not None:
        write_status(job_dir, {**done, "reused_at": time.time()})
        print(f"genexp: sweep job {job_num} already finished in {job_dir}: skipped", file=sys.stderr)
        return done.get("metric")
    if previous is not None and previous.get("config") != fingerprint:
        raise ConfigError(
            f"sweep job {job_num}: {job_dir} holds a run of another config (the sweep changed); "
            "re-run the original sweep command there or give a new hydra.sweep.dir"
        )
    last = job_dir / "checkpoints" / "last.ckpt"
    resume = str(last) if previous is not None and last.exists() else None
    if resume is not None:
        with open_dict(cfg):
            cfg.resume = resume
        print(f"genexp: sweep job {job_num}: resuming from {resume}", file=sys.stderr)
    status: dict[str, Any] = {
        "job": job_num,
        "status": "running",
        "overrides": list(overrides),
        "config": fingerprint,
        "metric_key": key,
        "metric": None,
        "error": None,
        "run_dir": str(job_dir),
        "resumed_from": resume,
        "started_at": time.time(),
    }
    write_status(job_dir, status)
    try:
        results = train_fn(cfg, job_dir, list(overrides))
    except Exception as err:  # a run-time failure ends this job, not the sweep
        status.update(status="failed", error=error_line(err), ended_at=time.time())
        write_status(job_dir, status)
        if isinstance(err, GenexpError):
            print(f"genexp: sweep job {job_num} failed: {status['error']}", file=sys.stderr)
        else:
            log.exception(f"sweep job {job_num} failed: {status['error']}")
        del err
        _release_memory()
        return None
    status.update(status="ok", metric=_metric(results, key), ended_at=time.time())
    write_status(job_dir, status)
    return status["metric"]

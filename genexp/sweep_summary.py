"""The end of a ``-m`` sweep: a table of every job, ``sweep_summary.json`` / ``.csv``, exit status.

:class:`SweepSummary` is a Hydra callback (``hydra.callbacks.sweep_summary`` in
``configs/hydra/default.yaml``). It reads the job folders of the sweep folder, so it sees jobs run
by any launcher (in this process, joblib workers, SLURM) and jobs of an earlier run of the same
sweep. Each job folder's ``job_status.json`` (:mod:`genexp.sweep_resume`) gives its status:

- ``ok``: finished in this run (``resumed`` when it continued from its ``last.ckpt``);
- ``skipped``: finished in an earlier run of the sweep with the same config, not run again;
- ``failed``: the run-time error is listed under the table;
- ``interrupted``: started but never ended (its process was killed); ``unknown``: no status file.

``python -m genexp`` exits 1 after the table when a job run by this command failed
(:func:`failed_jobs`).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from genexp.sweep_resume import STATUS_FILE, error_line, read_status, write_status

SUMMARY_NAME = "sweep_summary"
_FAILED: list[dict[str, Any]] = []


def failed_jobs() -> list[dict[str, Any]]:
    """The failed jobs of the last sweep this process ran (empty when none, or no sweep ran)."""
    return list(_FAILED)


def _job_folders(sweep_dir: Path) -> list[Path]:
    folders = [
        p
        for p in sweep_dir.iterdir()
        if p.is_dir() and ((p / ".hydra").is_dir() or (p / STATUS_FILE).exists())
    ]

    def key(path: Path) -> tuple[int, Any]:
        status = read_status(path) or {}
        num = status.get("job", path.name)
        return (0, int(num)) if str(num).isdigit() else (1, str(num))

    return sorted(folders, key=key)


def _overrides(folder: Path) -> list[str]:
    path = folder / ".hydra" / "overrides.yaml"
    return [str(v) for v in OmegaConf.load(path)] if path.exists() else []


def _metric_from_file(folder: Path, key: Optional[str]) -> Optional[float]:
    try:
        value = json.loads((folder / "metrics.json").read_text()).get(key) if key else None
    except (OSError, ValueError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def job_row(folder: Path, key: Optional[str], since: float) -> dict[str, Any]:
    """One job's line of the summary; ``since``: when this run of the sweep started."""
    status = read_status(folder)
    if status is None:
        return {
            "num": folder.name,
            "overrides": _overrides(folder),
            "status": "unknown",
            "metric": _metric_from_file(folder, key),
            "run_dir": str(folder),
            "error": None,
            "resumed_from": None,
            "this_run": False,
        }
    state = str(status.get("status"))
    last = max(float(status.get(k) or 0) for k in ("started_at", "ended_at", "reused_at"))
    if state == "running":
        state = "interrupted"
    elif state == "ok" and float(status.get("reused_at") or 0) >= since:
        state = "skipped"
    elif state == "ok" and status.get("resumed_from"):
        state = "resumed"
    metric = status.get("metric")
    return {
        "num": status.get("job", folder.name),
        "overrides": list(status.get("overrides") or _overrides(folder)),
        "status": state,
        "metric": metric if metric is not None else _metric_from_file(folder, key),
        "run_dir": str(folder),
        "error": status.get("error"),
        "resumed_from": status.get("resumed_from"),
        "this_run": last >= since,
    }


def _swept(rows: list[dict[str, Any]]) -> list[str]:
    """Per row, the overrides that differ between jobs (all of them for a single job)."""
    keys: list[str] = []
    for row in rows:
        keys += [o.split("=", 1)[0] for o in row["overrides"] if o.split("=", 1)[0] not in keys]
    values = [{o.split("=", 1)[0]: o for o in row["overrides"]} for row in rows]
    varying = [k for k in keys if len({v.get(k) for v in values}) > 1] or keys
    return [" ".join(v[k] for k in varying if k in v) for v in values]


def format_table(rows: list[dict[str, Any]], key: Optional[str]) -> str:
    """The summary as a fixed-width table, then one line per failed job with its error."""
    header = ["job", "overrides", "status", key or "metric", "run folder"]
    lines = [
        [
            str(r["num"]),
            swept,
            r["status"],
            "-" if r["metric"] is None else f"{r['metric']:.6g}",
            r["run_dir"],
        ]
        for r, swept in zip(rows, _swept(rows))
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    out = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*line) for line in lines]
    out += [
        f"job {r['num']} {r['status']}: {r['error']}" for r in rows if r["error"] and r["status"] == "failed"
    ]
    return "\n".join(out)


def write_summary(sweep_dir: Path, rows: list[dict[str, Any]], key: Optional[str]) -> None:
    """``sweep_summary.json`` (all fields) and ``sweep_summary.csv`` (one line per job)."""
    summary = {
        "sweep_dir": str(sweep_dir),
        "optimized_metric": key,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "n_jobs": len(rows),
        "n_failed": sum(r["status"] == "failed" for r in rows),
        "jobs": rows,
    }
    (sweep_dir / f"{SUMMARY_NAME}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    fields = ["num", "overrides", "status", "metric", "run_dir", "error", "resumed_from"]
    with open(sweep_dir / f"{SUMMARY_NAME}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "overrides": " ".join(row["overrides"])})


class SweepSummary(Callback):
    """Hydra callback: after the last job of a sweep, print and write the summary of its jobs
    (see the module docstring). A job whose function raised is recorded as failed in its folder."""

    def __init__(self) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Remember when this run of the sweep started (to tell its jobs from earlier ones)."""
        self.started = time.time()
        _FAILED.clear()

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """Record a job that raised (the sweep job function records its own failures)."""
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if getattr(job_return, "status", None) != JobStatus.FAILED:
            return
        if OmegaConf.select(config, "hydra.mode") != RunMode.MULTIRUN:
            return
        folder = Path(str(OmegaConf.select(config, "hydra.runtime.output_dir")))
        status = read_status(folder) or {"job": OmegaConf.select(config, "hydra.job.num")}
        if status.get("status") != "failed":
            error = getattr(job_return, "_return_value", None)
            status.update(
                status="failed", error=error_line(error) if error else "failed", ended_at=time.time()
            )
            status.setdefault("overrides", list(getattr(job_return, "overrides", None) or []))
            write_status(folder, status)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Print the table, write ``sweep_summary.json`` / ``.csv``, note this run's failures."""
        sweep_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
        if not sweep_dir.is_dir():
            return
        key = OmegaConf.select(config, "optimized_metric", default=None)
        rows = [job_row(folder, key, self.started) for folder in _job_folders(sweep_dir)]
        _FAILED[:] = [r for r in rows if r["status"] in ("failed", "interrupted") and r["this_run"]]
        write_summary(sweep_dir, [{k: v for k, v in r.items() if k != "this_run"} for r in rows], key)
        print(f"\ngenexp sweep {sweep_dir}: {len(rows)} jobs", flush=True)
        print(format_table(rows, key), flush=True)
        if _FAILED:
            print(
                f"genexp: {len(_FAILED)} of the sweep's jobs failed (see above)", file=sys.stderr, flush=True
            )

"""The jobs of a sweep folder (from ``sweep_summary.json`` when the sweep wrote one, else from the
job folders), which of their overrides were swept, and the metric the sweep optimizes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from genexp.report.folders import SWEEP_SUMMARY_FILE, RunFolder, is_run_folder, load_run, override_dict

# metric names (last path part) where higher is better, for a sweep that names no direction
_HIGHER_IS_BETTER = re.compile(
    r"(^|_)(elbo|acc|accuracy|nmi|ari|is|precision|recall|auc|auroc|auprc|coverage|density|modes|f1)($|_)"
)


# sweep_summary.json's words (genexp.sweep_summary: ok, resumed, skipped = finished in an earlier
# run of the sweep) and Hydra's (COMPLETED) for a finished job
_FINISHED = {"ok": "finished", "resumed": "finished", "skipped": "finished", "completed": "finished"}


@dataclass
class Job:
    """One job of a sweep (or one run of a comparison)."""

    name: str
    path: Optional[Path]
    run: Optional[RunFolder]
    overrides: dict[str, str] = field(default_factory=dict)
    state: str = "incomplete"
    error: str = ""


@dataclass
class Sweep:
    """The jobs to put side by side and what they are compared on."""

    path: Path
    jobs: list[Job]
    optimized_metric: Optional[str]
    maximize: bool
    command: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)

    @property
    def swept_keys(self) -> list[str]:
        """Overrides the sweep declares (``a=1,2``, a sweeper's ``params``) or whose value differs
        between jobs; all of them for a single job of a sweep that declares none."""
        keys: list[str] = []
        for job in self.jobs:
            keys += [k for k in job.overrides if k not in keys]
        swept = [k for k in keys if k in self.declared or len({j.overrides.get(k) for j in self.jobs}) > 1]
        return swept or (keys if len(self.jobs) < 2 else [])


def _job_from_folder(path: Path, name: str) -> Job:
    run = load_run(path)
    return Job(name, path, run, override_dict(run.overrides), run.state, run.error)


def _job_from_summary(entry: dict[str, Any], sweep_dir: Path, index: int) -> Job:
    folder = next(
        (entry[k] for k in ("run_dir", "run_folder", "folder", "output_dir", "dir") if entry.get(k)), None
    )
    path = (sweep_dir / folder) if folder is not None else None
    overrides = entry.get("overrides") or {}
    if isinstance(overrides, list):
        overrides = override_dict([str(o) for o in overrides])
    job = _job_from_folder(path, path.name) if path is not None and path.is_dir() else None
    job = job or Job(str(entry.get("num", index)), path, None)
    job.overrides = {str(k): str(v) for k, v in overrides.items()} or job.overrides
    status = str(entry.get("status") or "unknown").lower()
    if status in ("unknown", "none", ""):  # the summary does not know: what the folder says
        status = job.state
    job.state = _FINISHED.get(status, status)
    job.error = str(entry.get("error") or job.error or "")
    return job


def _sort_key(path: Path) -> tuple[int, Any]:
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def _multirun_config(sweep_dir: Path) -> dict[str, Any]:
    path = sweep_dir / "multirun.yaml"
    try:
        return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    except yaml.YAMLError:
        return {}


def is_sweep_folder(path: Path) -> bool:
    """A folder a ``-m`` sweep wrote (``multirun.yaml``, a summary, or job folders inside)."""
    path = Path(path)
    if (path / "multirun.yaml").exists() or (path / SWEEP_SUMMARY_FILE).exists():
        return True
    return path.is_dir() and not is_run_folder(path) and any(is_run_folder(p) for p in path.iterdir())


def _pick_metric(jobs: list[Job], *candidates: Any) -> Optional[str]:
    for name in candidates:
        if isinstance(name, str) and name:
            return name
    names = [k for job in jobs if job.run for k in job.run.scalars]
    for name in ("test/loss", "val/loss"):
        if name in names:
            return name
    return names[0] if names else None


def higher_is_better(metric: Optional[str], direction: Any = None) -> bool:
    """The sweep's direction (optuna's ``direction``) or, without one, a guess from the name."""
    if isinstance(direction, list):
        direction = direction[0] if direction else None
    if isinstance(direction, str) and direction.lower() in ("maximize", "minimize"):
        return direction.lower() == "maximize"
    return bool(metric and _HIGHER_IS_BETTER.search(metric.rsplit("/", 1)[-1].lower()))


def load_sweep(sweep_dir: Path, metric: Optional[str] = None, direction: Optional[str] = None) -> Sweep:
    """Read a sweep folder; ``metric``/``direction`` override what the sweep says."""
    sweep_dir = Path(sweep_dir)
    multirun = _multirun_config(sweep_dir)
    summary: Any = None
    if (sweep_dir / SWEEP_SUMMARY_FILE).exists():
        try:
            summary = json.loads((sweep_dir / SWEEP_SUMMARY_FILE).read_text())
        except json.JSONDecodeError:
            summary = None
    entries = summary.get("jobs") if isinstance(summary, dict) else summary
    if isinstance(entries, list) and entries:
        jobs = [_job_from_summary(e, sweep_dir, i) for i, e in enumerate(entries) if isinstance(e, dict)]
    else:
        folders = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and is_run_folder(p)), key=_sort_key)
        jobs = [_job_from_folder(p, p.name) for p in folders]
    first_cfg = next((j.run.config for j in jobs if j.run and j.run.config), {})
    summary_metric = summary.get("optimized_metric") if isinstance(summary, dict) else None
    name = _pick_metric(
        jobs, metric, summary_metric, first_cfg.get("optimized_metric"), multirun.get("optimized_metric")
    )
    hydra_cfg = multirun.get("hydra") or {}
    sweeper_direction = (hydra_cfg.get("sweeper") or {}).get("direction")
    command = [str(o) for o in ((hydra_cfg.get("overrides") or {}).get("task") or [])]
    declared = [k for k, v in override_dict(command).items() if _is_sweep_value(v)]
    declared += [str(k) for k in ((hydra_cfg.get("sweeper") or {}).get("params") or {})]
    maximize = higher_is_better(name, direction or sweeper_direction)
    return Sweep(sweep_dir, jobs, name, maximize, command, declared)


def _is_sweep_value(value: str) -> bool:
    """``1,2,3`` or a sweep function (``range(...)``, ``choice(...)``...), not a list ``[a,b]``."""
    value = value.strip()
    if value.startswith(("range(", "choice(", "interval(", "glob(", "tag(")):
        return True
    return "," in value and not value.startswith(("[", "{", "'", '"'))


def load_comparison(
    folders: list[Path], metric: Optional[str] = None, direction: Optional[str] = None
) -> Sweep:
    """Runs and sweeps from anywhere (e.g. different days) as one set of jobs."""
    jobs: list[Job] = []
    for folder in map(Path, folders):
        if is_run_folder(folder):
            jobs.append(_job_from_folder(folder, f"{folder.parent.name}/{folder.name}"))
        else:
            for job in load_sweep(folder).jobs:
                job.name = f"{folder.name}/{job.name}"
                jobs.append(job)
    first_cfg = next((j.run.config for j in jobs if j.run and j.run.config), {})
    name = _pick_metric(jobs, metric, first_cfg.get("optimized_metric"))
    return Sweep(Path.cwd(), jobs, name, higher_is_better(name, direction))

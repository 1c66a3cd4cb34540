"""Offline HTML report pages of runs and sweeps (one self-contained file each).

- a run folder gets ``report.html`` at the end of every run (:func:`finish_run`, called by
  :func:`genexp.train.train`, also after a NaN stop or an interrupt);
- a sweep folder gets ``report.html`` after its last job (:class:`genexp.report.callback.SweepReport`,
  a Hydra callback);
- ``python -m genexp.report <folders>`` (re)builds pages of existing folders, or one page that
  compares runs and sweeps from anywhere.

Pages link the run folders' own PNGs relatively and embed the figures they draw (matplotlib), with
inline CSS and a few lines of inline script to sort tables: nothing is fetched from a network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from genexp.report.folders import REPORT_FILE, is_run_folder, write_status
from genexp.report.run_page import write_run_page
from genexp.report.sweep_page import write_sweep_page
from genexp.report.sweeps import is_sweep_folder, load_comparison, load_sweep


def finish_run(run_dir: Path, error: Optional[BaseException], wall_time_s: float) -> Path:
    """Record how the run ended (``status.json``) and write its page; returns the page's path."""
    write_status(run_dir, error, wall_time_s)
    return write_run_page(run_dir, wall_time_s)


def write_sweep_report(
    sweep_dir: Path,
    metric: Optional[str] = None,
    direction: Optional[str] = None,
    rebuild_jobs: bool = False,
) -> Path:
    """(Re)build ``<sweep_dir>/report.html``, and each job's page where it has none (every job's
    page with ``rebuild_jobs``)."""
    sweep = load_sweep(sweep_dir, metric, direction)
    for job in sweep.jobs:
        if job.path is not None and job.path.is_dir():
            if rebuild_jobs or not (job.path / REPORT_FILE).exists():
                write_run_page(job.path)
    return write_sweep_page(sweep)


def write_comparison_report(
    folders: list[Path], out: Path, metric: Optional[str] = None, direction: Optional[str] = None
) -> Path:
    """One page at ``out`` that puts runs and sweeps from anywhere side by side."""
    sweep = load_comparison(folders, metric, direction)
    sweep.path = Path(out).resolve().parent
    return write_sweep_page(sweep, out, title=f"Comparison of {len(sweep.jobs)} runs")


__all__ = [
    "finish_run",
    "is_run_folder",
    "is_sweep_folder",
    "write_comparison_report",
    "write_run_page",
    "write_sweep_report",
]

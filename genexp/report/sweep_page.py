"""The page of a sweep (or of runs from anywhere): a sortable jobs x overrides x metrics table with
the best value of the optimized metric marked, each job's latest samples, and the optimized metric
against every swept numeric parameter."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

from genexp.report import figures
from genexp.report.folders import REPORT_FILE
from genexp.report.html import cell, esc, img, page, rel, table, write_page
from genexp.report.sweeps import Job, Sweep


def metric_columns(sweep: Sweep) -> list[str]:
    """The optimized metric, then the test, val, train and other numbers, then timing."""
    names: list[str] = []
    for job in sweep.jobs:
        if job.run is not None:
            names += [k for k in job.run.scalars if k not in names]
    order = ("test", "val", "train")

    def rank(name: str) -> tuple[int, str]:
        prefix = name.split("/", 1)[0]
        return (order.index(prefix) if prefix in order else len(order), name)

    names = sorted(names, key=rank)
    if sweep.optimized_metric in names:
        names.remove(sweep.optimized_metric)
        names.insert(0, sweep.optimized_metric)
    timing = [
        k for k in ("fit_time_s", "steps_per_s") if any(j.run and k in j.run.metrics for j in sweep.jobs)
    ]
    return names + timing


def value_of(job: Job, key: Optional[str]) -> Optional[float]:
    """A job's final number ``key`` (None when it has none)."""
    if key is None or job.run is None:
        return None
    value = job.run.metrics.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def best_job(sweep: Sweep) -> Optional[Job]:
    """The finished job with the best optimized metric."""
    scored = [(value_of(j, sweep.optimized_metric), j) for j in sweep.jobs if j.state == "finished"]
    scored = [(v, j) for v, j in scored if v is not None]
    if not scored:
        return None
    return (max if sweep.maximize else min)(scored, key=lambda p: p[0])[1]


def _job_link(job: Job, page_dir: Path) -> str:
    if job.path is not None and (job.path / REPORT_FILE).exists():
        return f'<a href="{esc(rel(job.path / REPORT_FILE, page_dir))}">{esc(job.name)}</a>'
    return esc(job.name)


def _table(sweep: Sweep, page_dir: Path) -> str:
    swept, columns, best = sweep.swept_keys, metric_columns(sweep), best_job(sweep)
    with_errors = any(job.error for job in sweep.jobs)
    rows = []
    for job in sweep.jobs:
        failed = job.state != "finished"
        cells = [f"<td>{_job_link(job, page_dir)}</td>", cell(job.state)]
        for key in swept:  # numbers sort as numbers
            text = job.overrides.get(key)
            cells.append(cell(text, sort_value=figures.as_float(text)))
        for key in columns:
            mark = "best" if job is best and key == sweep.optimized_metric else ""
            cells.append(cell(value_of(job, key), mark))
        if with_errors:
            cells.append(cell(job.error))
        rows.append(f"<tr{' class=failed' if failed else ''}>{''.join(cells)}</tr>")
    headers = ["job", "status", *swept, *columns, *(["error"] if with_errors else [])]
    if sweep.optimized_metric:
        direction = "highest" if sweep.maximize else "lowest"
        note = f"optimized metric: <b>{esc(sweep.optimized_metric)}</b> (best = {direction}, marked green)"
    else:
        note = "no optimized metric (no job has a final number)"
    return f"<h2>Jobs</h2><p class=sub>{note}; click a column to sort.</p>" + table(
        headers, rows, sortable=True
    )


def _samples(sweep: Sweep, page_dir: Path) -> str:
    cards = []
    for job in sweep.jobs:
        image = job.run.latest_sample() if job.run is not None else None
        if image is None:
            continue
        label = ", ".join(f"{k}={job.overrides[k]}" for k in sweep.swept_keys if k in job.overrides)
        step = f" (step {image.step})" if image.step is not None else ""
        caption = f"{job.name}: {label}{step}" if label else f"{job.name}{step}"
        cards.append(img(rel(image.path, page_dir), caption, href=rel(image.path, page_dir)))
    if not cards:
        return "<h2>Latest samples</h2><p>No job has written samples.</p>"
    return '<h2>Latest samples of each job</h2><div class="grid small">' + "".join(cards) + "</div>"


def _param_plots(sweep: Sweep) -> str:
    metric, best = sweep.optimized_metric, best_job(sweep)
    cards = []
    for key in sweep.swept_keys:
        values = [figures.as_float(job.overrides.get(key)) for job in sweep.jobs]
        if metric is None or any(v is None for v in values) or len(set(values)) < 2:
            continue  # categorical or constant: the table shows it
        points, best_point = [], None
        for job, x in zip(sweep.jobs, values):
            y = value_of(job, metric) if job.state == "finished" else None
            if y is not None and x is not None:
                points.append((x, y))
                best_point = (x, y) if job is best else best_point
        if len({x for x, _ in points}) > 1:  # a line needs two values
            uri = figures.metric_vs_param_figure(points, key, metric, best_point)
            cards.append(img(uri, f"{metric} against {key}"))
    if not cards:
        return ""
    return (
        "<h2>Optimized metric against each swept parameter</h2><div class=grid>" + "".join(cards) + "</div>"
    )


def render_sweep_page(sweep: Sweep, page_dir: Path, title: Optional[str] = None) -> str:
    """The HTML of ``sweep``'s page, with links relative to ``page_dir``."""
    done = sum(j.state == "finished" for j in sweep.jobs)
    title = title or f"Sweep {sweep.path.name}"
    head = f"<h1>{esc(title)}</h1><p class=sub>{len(sweep.jobs)} jobs: {done} finished, "
    head += f"{len(sweep.jobs) - done} failed or incomplete · <code>{esc(sweep.path)}</code></p>"
    if sweep.command:
        cmd = " ".join(["python -m genexp -m", *(shlex.quote(o) for o in sweep.command)])
        head += f'<p><code class="cmd">{esc(cmd)}</code></p>'
    body = head + _table(sweep, page_dir) + _samples(sweep, page_dir) + _param_plots(sweep)
    return page(title, body)


def write_sweep_page(sweep: Sweep, out: Optional[Path] = None, title: Optional[str] = None) -> Path:
    """Write the page to ``out`` (default: ``<sweep folder>/report.html``)."""
    out = Path(out) if out is not None else sweep.path / REPORT_FILE
    return write_page(out, render_sweep_page(sweep, out.parent, title))

"""The page of one run: command and config, final metrics with protocols, curves, samples, timing."""

from __future__ import annotations

import shlex
from itertools import groupby
from pathlib import Path
from typing import Any, Optional

from genexp.report import figures
from genexp.report.folders import REPORT_FILE, TIMING_KEYS, RunFolder, load_run
from genexp.report.history import HISTORY_FILE, series, time_span
from genexp.report.html import as_json, cell, details, esc, fmt, img, page, pre, rel, table, write_page

_STATE_CLASS = {"finished": "status-ok"}


def command_line(run: RunFolder) -> str:
    """The command that makes this run again (its Hydra overrides)."""
    return " ".join(["python -m genexp", *(shlex.quote(o) for o in run.overrides)])


def _header(run: RunFolder, page_dir: Path) -> str:
    state = run.state
    cls = _STATE_CLASS.get(state, "status-bad")
    steps = run.metrics.get("global_step")
    parts = [f'<span class="{cls}">{esc(state)}</span>']
    if steps is not None:
        parts.append(f"{esc(steps)} optimizer steps")
    parts.append(f"<code>{esc(run.path)}</code>")
    sweep_page = run.path.parent / REPORT_FILE
    if (run.path.parent / "multirun.yaml").exists():
        parts.append(f'<a href="{esc(rel(sweep_page, page_dir))}">sweep page</a>')
    out = f"<h1>Run {esc(run.path.name)}</h1><p class=sub>{' · '.join(parts)}</p>"
    if run.error:
        out += f'<p class="status-bad">stopped by: {esc(run.error)}</p>'
    return out


def _command(run: RunFolder) -> str:
    body = f'<p><code class="cmd">{esc(command_line(run))}</code></p>'
    if run.config_text:
        body += details("composed config (.hydra/config.yaml)", pre(run.config_text))
    return "<h2>Command and config</h2>" + body


def _value_html(value: Any) -> str:
    return pre(as_json(value)) if isinstance(value, (dict, list)) else esc(fmt(value))


def _metrics(run: RunFolder) -> str:
    scalars, protocols = run.scalars, run.protocols
    if not scalars and not protocols:
        return "<h2>Final metrics</h2><p>No metrics.json (the run stopped before writing it).</p>"
    rows = []
    with_protocols = any(f"{key}_protocol" in protocols for key in scalars)
    for key in sorted(scalars, key=lambda k: (not k.startswith("test"), k)):
        proto = protocols.get(f"{key}_protocol")
        extra = details("protocol", pre(as_json(proto))) if proto is not None else ""
        extra = f"<td>{extra}</td>" if with_protocols else ""
        rows.append(f"<tr><td>{esc(key)}</td>{cell(scalars[key])}{extra}</tr>")
    headers = ["metric", "value", *(["protocol"] if with_protocols else [])]
    out = "<h2>Final metrics</h2>" + table(headers, rows, sortable=True)
    others = [f"<tr><td>{esc(k)}</td><td>{_value_html(v)}</td></tr>" for k, v in sorted(protocols.items())]
    if others:
        out += "<h3>Protocols and other values</h3>" + table(["key", "value"], others)
    return out


def _timing(run: RunFolder, wall_time_s: Optional[float]) -> str:
    values: dict[str, Any] = {k: run.metrics[k] for k in TIMING_KEYS if k in run.metrics}
    wall = wall_time_s if wall_time_s is not None else run.status.get("wall_time_s")
    if wall is not None:
        values["wall_time_s"] = round(float(wall), 1)
    span = time_span(run.history)
    if span is not None:
        values["logged_span_s (first to last history row)"] = span
    if not values:
        return ""
    rows = [f"<tr><td>{esc(k)}</td>{cell(v)}</tr>" for k, v in values.items()]
    return "<h2>Timing</h2>" + table(["", "value"], rows)


def _curves(run: RunFolder) -> str:
    uri = figures.curves_figure(series(run.history))
    if uri is None:
        return (
            f"<h2>Curves</h2><p>No scalar history ({HISTORY_FILE} or csv/metrics.csv) in this run folder.</p>"
        )
    n = sum(1 for r in run.history if r.get("stage") == "train")
    note = (
        f"<p class=sub>{n} training rows (one per logging step) and validation rows, by optimizer step.</p>"
    )
    return "<h2>Curves</h2>" + note + img(uri, "logged scalars", wide=True)


def _samples(run: RunFolder, page_dir: Path) -> str:
    if not run.images:
        return "<h2>Samples</h2><p>No figures in samples/.</p>"
    out = ["<h2>Samples over training (latest first)</h2>"]
    for step, group in groupby(run.images, key=lambda i: i.step):
        cards = "".join(img(rel(i.path, page_dir), i.path.name, href=rel(i.path, page_dir)) for i in group)
        title = f"step {step}" if step is not None else "other figures"
        out.append(f"<h3>{esc(title)}</h3><div class=grid>{cards}</div>")
    return "".join(out)


def render_run_page(run: RunFolder, page_dir: Path, wall_time_s: Optional[float] = None) -> str:
    """The HTML of ``run``'s page, with links relative to ``page_dir``."""
    body = "".join(
        [
            _header(run, page_dir),
            _command(run),
            _metrics(run),
            _curves(run),
            _samples(run, page_dir),
            _timing(run, wall_time_s),
        ]
    )
    return page(f"genexp run {run.path.name}", body)


def write_run_page(run_dir: Path, wall_time_s: Optional[float] = None) -> Path:
    """(Re)build ``<run_dir>/report.html`` from the folder's files."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    return write_page(run_dir / REPORT_FILE, render_run_page(run, run_dir, wall_time_s))

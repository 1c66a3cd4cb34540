"""Reads a run's scalar history: ``history.jsonl`` (written by
:class:`genexp.callbacks.history.ScalarHistory`), else the CSV logger's ``csv/metrics.csv``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

# the file name ScalarHistory writes (kept here too so reading a page never imports Lightning)
HISTORY_FILE = "history.jsonl"
_META = ("stage", "step", "epoch", "time")

Series = dict[str, list[tuple[int, float]]]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a killed run
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
    return rows


def _read_lightning_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of Lightning's CSVLogger, split into a train and a val row per line."""
    rows = []
    with open(path, newline="") as f:
        for line in csv.DictReader(f):
            step = _number(line.get("step"))
            if step is None:
                continue
            by_stage: dict[str, dict[str, Any]] = {}
            for key, value in line.items():
                number = _number(value) if key not in ("step", "epoch") else None
                if number is None or key.startswith("test"):
                    continue
                stage = "val" if key.startswith("val") else "train"
                by_stage.setdefault(stage, {"stage": stage, "step": int(step)})[key] = number
            rows.extend(by_stage.values())
    return rows


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The run's history rows (``stage``, ``step``, values), one per stage and step (the last
    written wins, as after a resume), ordered by step."""
    run_dir = Path(run_dir)
    path = run_dir / HISTORY_FILE
    if path.exists():
        rows = _read_jsonl(path)
    elif (run_dir / "csv" / "metrics.csv").exists():
        rows = _read_lightning_csv(run_dir / "csv" / "metrics.csv")
    else:
        return []
    last: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        last[(str(row.get("stage", "train")), int(row["step"]))] = row
    return sorted(last.values(), key=lambda r: (int(r["step"]), str(r.get("stage"))))


def series(rows: list[dict[str, Any]]) -> Series:
    """``{scalar name: [(step, value), ...]}`` over the history rows, in first-seen order."""
    out: Series = {}
    for row in rows:
        for key, value in row.items():
            number = _number(value) if key not in _META else None
            if number is not None:
                out.setdefault(key, []).append((int(row["step"]), number))
    return out


def time_span(rows: list[dict[str, Any]]) -> float | None:
    """Seconds between the first and the last history row that carry a time stamp."""
    times = [float(r["time"]) for r in rows if _number(r.get("time")) is not None]
    return round(max(times) - min(times), 1) if len(times) > 1 else None

"""The reproduction data model: rows, columns, claims, groups and the per-seed results they are judged on.

A :class:`Group` is one reproduction (an experiment config, its rows, table columns, paper numbers and
claims). :func:`collect` reads the metrics.json of every finished seed folder of a group into
:class:`Results`, which is what the table is built from and what every :class:`Claim` is checked on.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "results.md"
NOTES = ROOT / "docs" / "reproduction"  # <group>.md: the setting paragraph of each group's section
OUT = ROOT / "outputs" / "reproduce"

Metrics = dict[str, Any]  # one run folder's metrics.json


@dataclass(frozen=True, repr=False)
class SiblingPath:
    """An override value naming a file in another row's run folder of the same seed and invocation:
    ``<group folder>/<slug(label)>/seed<s>/<path>`` (e.g. the artefact of a stage that row trained)."""

    label: str
    path: str

    def resolve(self, group_dir: Path, seed: int) -> str:
        """The file's path for one seed of the invocation whose run folders are under ``group_dir``."""
        return str(group_dir / slug(self.label) / f"seed{seed}" / self.path)

    def __repr__(self) -> str:
        return f"<{self.label} run folder>/{self.path}"


@dataclass
class Run:
    """One row: a model config and overrides, plus the paper's numbers (column key -> text)."""

    label: str
    model: str
    overrides: dict[str, Any] = field(default_factory=dict)
    paper: dict[str, str] = field(default_factory=dict)
    quick: bool = False  # part of the --quick subset
    experiment: Optional[str] = None  # this row's experiment config, if not the group's
    # a baseline computed by a script instead of a genexp run: ``scripts/<name>.py`` and its
    # arguments; it gets ``--seeds <s> --json <run folder>/metrics.json`` appended
    script: Optional[list[str]] = None


@dataclass
class Column:
    """A table column: header, metrics.json key (without ``test/``), scale, decimals."""

    header: str
    key: str
    scale: float = 1.0
    digits: int = 2


@dataclass
class RowResults:
    """One row's collected seeds: ``metrics[i]`` is the metrics.json of seed ``seeds[i]``."""

    seeds: list[int]
    metrics: list[Metrics]

    def __len__(self) -> int:
        return len(self.metrics)

    def by_seed(self, key: str) -> dict[int, float]:
        """Seed -> ``test/<key>`` for every seed that recorded a finite value, in seed order."""
        found = ((s, metric(m, key)) for s, m in zip(self.seeds, self.metrics))
        return {s: v for s, v in found if v is not None}

    def values(self, key: str) -> list[float]:
        """``test/<key>`` of each seed that recorded it, in seed order; KeyError when none did."""
        values = list(self.by_seed(key).values())
        if not values:
            raise KeyError(key)
        return values

    def mean(self, key: str, default: Optional[float] = None) -> float:
        """Mean over seeds; ``default`` (KeyError if None) when no seed recorded the metric."""
        if default is not None and not self.by_seed(key):
            return default
        return statistics.fmean(self.values(key))

    def std(self, key: str) -> float:
        """Sample standard deviation over seeds (0 for one seed)."""
        return mean_std(self.values(key))[1]

    def median(self, key: str) -> float:
        """Median over seeds."""
        return statistics.median(self.values(key))


class Results(dict[str, RowResults]):
    """Row label -> :class:`RowResults`: the seeds collected for this invocation (rows without a
    finished seed are absent)."""

    @classmethod
    def from_metrics(cls, rows: Mapping[str, list[Metrics]]) -> Results:
        """From row label -> list of metrics dicts (numbered seeds 0, 1, ...)."""
        return cls({label: RowResults(list(range(len(ms))), list(ms)) for label, ms in rows.items()})


# (holds, the numbers); holds is None when the results cannot judge the claim (e.g. too few seeds)
Check = Callable[[Results], tuple[Optional[bool], str]]


@dataclass
class Claim:
    """A checkable statement: ``check(results)`` gets the per-seed :class:`Results` of this
    invocation and returns (holds, the numbers behind it); rendered only when every row in
    ``needs`` has results, and a KeyError (a missing metric) is reported as such."""

    cid: str
    text: str
    needs: tuple[str, ...]
    check: Check


@dataclass
class Group:
    """A reproduction: one experiment config, its runs, table columns and claims."""

    title: str
    experiment: str
    runs: list[Run]
    columns: list[Column]
    claims: list[Claim] = field(default_factory=list)
    quick_overrides: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    source: str = "thesis"  # what the reference rows are called in the table
    # docs/figures/<file name> <- the last sample figure of this run label's seed-0 folder
    figures: dict[str, str] = field(default_factory=dict)
    # figure writers called with the group's run folder after a full run (e.g. training curves)
    plots: list[Callable[[Path], Any]] = field(default_factory=list)


def paper_rows(table: str, columns: list[Column]) -> dict[str, dict[str, str]]:
    """Rows ``label | cell | ...`` of a copied paper table -> label -> column key -> cell text."""
    rows = {}
    for line in table.strip().splitlines():
        label, *cells = (c.strip() for c in line.split("|"))
        rows[label] = {col.key: cell for col, cell in zip(columns, cells)}
    return rows


def setting_notes(name: str) -> str:
    """The setting paragraph of group ``name``: docs/reproduction/<name>.md without its HTML
    comments, its lines joined into the single line the results page carries."""
    text = re.sub(r"<!--.*?-->", "", (NOTES / f"{name}.md").read_text(), flags=re.S)
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


def slug(text: str) -> str:
    """A folder-safe name for a run label."""
    text = text.replace("β", "beta")
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_").lower()


def metric(values: Metrics, key: str) -> Optional[float]:
    """A scalar from metrics.json (keys are stored with a ``test/`` prefix)."""
    v = values.get(f"test/{key}", values.get(key))
    return float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else None


def mean_std(xs: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def recorded_wall(run_dir: Path) -> float:
    """Wall seconds of a finished run: from reproduce.json, else the run's own summary line."""
    record = run_dir / "reproduce.json"
    if record.exists():
        return float(json.loads(record.read_text())["wall_s"])
    log = run_dir / "reproduce.log"
    found = re.findall(r"wall_time_s\s+([0-9.]+)", log.read_text()) if log.exists() else []
    return float(found[-1]) if found else 0.0


def _seed_number(run_dir: Path) -> int:
    found = re.fullmatch(r"seed(\d+)", run_dir.name)
    return int(found.group(1)) if found else -1


def collect(group: Group, folder: Path, quick: bool) -> tuple[Results, float]:
    """metrics.json of every finished seed folder of the group's runs under ``folder`` (only the
    quick subset when ``quick``), and their summed wall time."""
    results = Results()
    wall = 0.0
    for run in group.runs:
        if quick and not run.quick:
            continue
        dirs = sorted(
            (p.parent for p in (folder / slug(run.label)).glob("seed*/metrics.json")), key=_seed_number
        )
        if dirs:
            metrics = [json.loads((d / "metrics.json").read_text()) for d in dirs]
            results[run.label] = RowResults([_seed_number(d) for d in dirs], metrics)
            wall += sum(recorded_wall(d) for d in dirs)
    return results, wall

"""Training curves of a reproduction group's runs: the clustering checks that the ``clustering_curve``
metric writes as ``curve`` rows of each run's ``history.jsonl``, one line per seed, saved under
docs/figures/ (the results page links them)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Optional, Sequence

from .core import DOCS, slug

FIGURES = DOCS.parent / "figures"
CURVE_STAGE = "curve"  # genexp.callbacks.clustering_curve.CURVE_STAGE (not imported: no Lightning here)
Points = list[tuple[int, float]]


def seed_curves(row_dir: Path, key: str) -> dict[int, Points]:
    """Seed -> [(iteration, value of ``curve/<key>``), ...] of every ``seed<s>`` folder of a row."""
    from genexp.report.history import read_history

    out: dict[int, Points] = {}
    for run_dir in sorted(row_dir.glob("seed*")):
        found = re.fullmatch(r"seed(\d+)", run_dir.name)
        if not found:
            continue
        points = [
            (int(r.get(f"{CURVE_STAGE}/iteration", r["step"])), float(r[f"{CURVE_STAGE}/{key}"]))
            for r in read_history(run_dir)
            if r.get("stage") == CURVE_STAGE and f"{CURVE_STAGE}/{key}" in r
        ]
        if points:
            out[int(found.group(1))] = sorted(points)
    return out


def log_trend(points: Points, target: int) -> Optional[float]:
    """A projection to iteration ``target``: the least-squares line of value against log(iteration)
    through the second half of the points, evaluated at ``target`` and clipped to [0, 1] (None with
    fewer than 3 points in that half)."""
    tail = [(math.log(i), v) for i, v in points[len(points) // 2 :] if i > 0]
    if len(tail) < 3:
        return None
    mx, my = sum(x for x, _ in tail) / len(tail), sum(y for _, y in tail) / len(tail)
    sxx = sum((x - mx) ** 2 for x, _ in tail)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in tail) / sxx
    return min(1.0, max(0.0, my + slope * (math.log(target) - mx)))


def plot_clustering_curves(
    folder: Path,
    labels: Sequence[str],
    prefix: str,
    keys: Sequence[str] = ("cluster_purity", "cluster_acc"),
    project_to: Optional[int] = None,
    figures: Path = FIGURES,
) -> list[Path]:
    """One figure per row label: ``keys`` (solid: the first, dashed: the others) against the
    iteration, one colour per seed, with the :func:`log_trend` projection of the first key to
    ``project_to`` in the legend; written as ``<figures>/<prefix>_<slug(label)>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for label in labels:
        curves = {key: seed_curves(folder / slug(label), key) for key in keys}
        if not curves[keys[0]]:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for n, (seed, points) in enumerate(sorted(curves[keys[0]].items())):
            color = f"C{n}"
            trend = log_trend(points, project_to) if project_to else None
            note = f" (log trend at {project_to:,}: {trend:.2f})" if trend is not None else ""
            ax.plot(*zip(*points), color=color, label=f"seed {seed} {keys[0]}{note}")
            for key in keys[1:]:
                if seed in curves[key]:
                    ax.plot(*zip(*curves[key][seed]), color=color, ls="--", lw=1, label=f"seed {seed} {key}")
        ax.set(xlabel="iteration", ylabel="score on the fixed subset", ylim=(0, 1), title=label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        figures.mkdir(parents=True, exist_ok=True)
        path = figures / f"{prefix}_{slug(label)}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written

"""The report's figures (matplotlib, Agg), returned as ``data:image/png;base64`` URIs to embed."""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Optional

from genexp.report.history import Series


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def to_data_uri(figure: Any) -> str:
    """The figure as an embeddable PNG (the figure is closed)."""
    plt = _pyplot()
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def group_curves(curves: Series) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``train/loss`` and ``val/loss`` share the panel ``loss``; a name without a stage is its own."""
    panels: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for key, points in curves.items():
        stage, _, name = key.partition("/")
        if not name:
            stage, name = "", key
        panels.setdefault(name, {})[stage or key] = points
    order = {"train": 0, "val": 1}  # the same colours in every panel: train first, then val
    return {n: dict(sorted(lines.items(), key=lambda kv: order.get(kv[0], 2))) for n, lines in panels.items()}


def curves_figure(curves: Series, columns: int = 3) -> Optional[str]:
    """One panel per logged scalar (train and val of the same name together) over optimizer steps."""
    panels = group_curves(curves)
    if not panels:
        return None
    plt = _pyplot()
    cols = min(columns, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows), squeeze=False)
    for ax, (name, lines) in zip(axes.flat, panels.items()):
        for stage, points in lines.items():
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o" if len(points) <= 20 else None, ms=3, label=stage, lw=1.2)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return to_data_uri(fig)


def as_float(text: Any) -> Optional[float]:
    """``text`` as a finite float, or None (categorical values)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def metric_vs_param_figure(
    points: list[tuple[float, float]], param: str, metric: str, best: Optional[tuple[float, float]] = None
) -> str:
    """The optimized metric against one swept numeric parameter (mean over repeats joined)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    xs = [p[0] for p in points]
    ax.scatter(xs, [p[1] for p in points], s=22, color="tab:blue", zorder=3, label="jobs")
    by_x: dict[float, list[float]] = {}
    for x, y in points:
        by_x.setdefault(x, []).append(y)
    means = sorted((x, sum(ys) / len(ys)) for x, ys in by_x.items())
    ax.plot([m[0] for m in means], [m[1] for m in means], color="tab:blue", alpha=0.5, lw=1)
    if best is not None:
        ax.scatter(
            [best[0]],
            [best[1]],
            s=90,
            facecolors="none",
            edgecolors="tab:green",
            lw=2,
            label="best",
            zorder=4,
        )
    if min(xs) > 0 and max(xs) / min(xs) >= 100:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs {param}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return to_data_uri(fig)

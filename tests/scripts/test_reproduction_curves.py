"""scripts/reproduction/curves.py: the curve points read from history.jsonl, the log-trend
projection on exact data, and one figure per row with every seed."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def curves(rep):
    """reproduction.curves."""
    return importlib.import_module("reproduction.curves")


def _history(run_dir: Path, points: list[tuple[int, float]]) -> None:
    run_dir.mkdir(parents=True)
    rows = [{"stage": "train", "step": 1, "train/loss": 3.0}]
    rows += [
        {
            "stage": "curve",
            "step": 10 * i,
            "curve/iteration": i,
            "curve/cluster_purity": v,
            "curve/cluster_acc": v / 2,
        }
        for i, v in points
    ]
    (run_dir / "history.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_seed_curves_and_the_log_trend_projection(curves, tmp_path) -> None:
    exact = [(i, 0.1 + 0.05 * math.log(i)) for i in (250, 500, 1000, 2000, 4000, 8000)]
    _history(tmp_path / "mpcc_s" / "seed1", list(reversed(exact)))
    _history(tmp_path / "mpcc_s" / "seed0", [(250, 0.3), (500, 0.4)])
    got = curves.seed_curves(tmp_path / "mpcc_s", "cluster_purity")
    assert sorted(got) == [0, 1] and got[1] == exact  # sorted by iteration
    assert curves.log_trend(exact, 125_000) == pytest.approx(0.1 + 0.05 * math.log(125_000))
    assert curves.log_trend(got[0], 125_000) is None  # too few points
    assert curves.log_trend([(i, 0.9 + math.log(i)) for i, _ in exact], 125_000) == 1.0  # clipped


def test_one_figure_per_row_with_every_seed(curves, tmp_path) -> None:
    _history(tmp_path / "runs" / "mpcc_s" / "seed0", [(250, 0.3), (500, 0.4), (750, 0.45)])
    _history(tmp_path / "runs" / "mpcc_s" / "seed1", [(250, 0.2), (500, 0.5)])
    out = curves.plot_clustering_curves(
        tmp_path / "runs", ["MPCC (S)", "MPCC (NS)"], "ch8", project_to=125_000, figures=tmp_path / "fig"
    )
    assert out == [tmp_path / "fig" / "ch8_mpcc_s.png"]  # no runs for MPCC (NS): no figure
    assert out[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reproduce_runs_the_groups_figure_writers_and_thesis_ch8_plots_its_mpcc_rows(
    rep, curves, tmp_path
) -> None:
    group = rep.GROUPS["thesis_ch8"]
    seen: list[Path] = []
    rep.copy_figures(dataclasses.replace(group, plots=[seen.append]), tmp_path, figures=tmp_path / "f")
    assert seen == [tmp_path]
    _history(tmp_path / "mpcc_s" / "seed0", [(250, 0.3), (500, 0.4)])
    written = group.plots[0](tmp_path, figures=tmp_path / "fig")
    assert written == [tmp_path / "fig" / "thesis_ch8_curve_mpcc_s.png"]

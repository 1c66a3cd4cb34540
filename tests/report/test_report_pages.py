"""Report pages built from hand-made run and sweep folders: the numbers, the links, the status."""

from __future__ import annotations

import base64
import json
import logging
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from PIL import Image

from genexp.report import finish_run, write_comparison_report, write_run_page, write_sweep_report
from genexp.report.__main__ import main as report_main
from genexp.report.sweeps import load_sweep

METRICS = {
    "test/loss": 14.624,
    "test/elbo": -14.624,
    "test/fd_classifier": 3.25,
    "test/fd_classifier_protocol": {"n_samples": 500, "classifier_sha256": "abc123"},
    "fit_time_s": 0.7,
    "steps_per_s": 16.7,
    "global_step": 6,
    "epochs": 2,
}


class _Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.rows: list[dict] = []  # {"class": ..., "cells": [(text, data-v, class)]}
        self.scripts_with_src = 0
        self.stylesheets = 0
        self._cell: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "tr":
            self.rows.append({"class": a.get("class", ""), "cells": []})
        elif tag == "td":
            self._cell = {"text": "", "v": a.get("data-v"), "class": a.get("class", "")}
        elif tag == "script" and "src" in a:
            self.scripts_with_src += 1
        elif tag == "link":
            self.stylesheets += 1

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _png(path: Path, color: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), color).save(path)


def make_run(folder: Path, overrides: list[str], metrics: dict | None, steps: int = 6) -> Path:
    """A run folder as genexp writes it: .hydra, metrics.json, samples, history.jsonl."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / ".hydra" / "config.yaml").write_text("model:\n  beta: 1.0\noptimized_metric: null\n")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    rows = [{"stage": "train", "step": s, "train/loss": 20.0 - s} for s in range(1, steps + 1)]
    rows.append({"stage": "val", "step": steps, "val/loss": 15.0})
    (folder / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _png(folder / "samples" / "samples_step0000003.png", (200, 30, 30))
    _png(folder / "samples" / f"samples_step{steps:07d}.png", (30, 30, 200))
    _png(folder / "samples" / f"reconstructions_step{steps:07d}.png", (30, 200, 30))
    return folder


def _links_exist(page: _Page, page_dir: Path) -> None:
    for src in page.images + page.links:
        if src.startswith("data:image/png;base64,"):
            assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
        else:
            assert not src.startswith(("http:", "https:", "//")), src
            assert (page_dir / src).exists(), src


def test_run_page_holds_the_numbers_links_and_curves(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", ["model=vae", "model.beta=2"], METRICS)
    page_path = write_run_page(run, wall_time_s=3.5)
    assert page_path == run / "report.html"
    text = page_path.read_text()
    page = _Page(text)
    values = {r["cells"][0]["text"]: r["cells"][1] for r in page.rows if len(r["cells"]) >= 2}
    for key, value in METRICS.items():
        if isinstance(value, (int, float)):
            assert float(values[key]["v"]) == pytest.approx(value), key
    assert values["wall_time_s"]["v"] is not None and float(values["wall_time_s"]["v"]) == 3.5
    assert "classifier_sha256" in text and "python -m genexp model=vae model.beta=2" in text
    assert "<details><summary>composed config" in text
    _links_exist(page, run)
    relative = [s for s in page.images if not s.startswith("data:")]
    # latest first: the step-6 images come before the step-3 one
    assert relative.index("samples/samples_step0000006.png") < relative.index(
        "samples/samples_step0000003.png"
    )
    assert sum(s.startswith("data:") for s in page.images) == 1  # the curves, embedded
    assert page.scripts_with_src == 0 and page.stylesheets == 0


def test_a_stopped_run_still_gets_a_page_with_its_error(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", ["model=vae"], None)
    finish_run(run, RuntimeError("loss became nan at step 2"), 1.0)
    assert json.loads((run / "status.json").read_text())["status"] == "failed"
    text = (run / "report.html").read_text()
    assert "RuntimeError: loss became nan at step 2" in text and "No metrics.json" in text
    finish_run(run, KeyboardInterrupt(), 1.0)
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"


def _sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep"
    task = ["model=vae", "model.beta=0.5,1,2", "metric=[fid,clustering]"]
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"overrides": {"task": task}}}))
    for i, (beta, loss) in enumerate([("0.5", 11.0), ("1", 14.6), ("2", 16.7)]):
        metrics = {**METRICS, "test/loss": loss} if i != 2 else None
        overrides = ["model=vae", f"model.beta={beta}", "metric=[fid,clustering]"]
        job = make_run(sweep / str(i), overrides, metrics)
        if i == 2:
            (job / "status.json").write_text(json.dumps({"status": "failed", "error": "TrainingError: nan"}))
    return sweep


def _job_rows(page: _Page) -> list[dict]:
    return [r for r in page.rows if r["cells"] and r["cells"][0]["text"] in ("0", "1", "2")]


def test_sweep_page_table_best_failed_and_plots(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    text = write_sweep_report(sweep).read_text()
    page = _Page(text)
    rows = _job_rows(page)
    assert len(rows) == 3
    by_job = {r["cells"][0]["text"]: r for r in rows}
    # columns: job, status, model.beta (the only swept key), test/loss (optimized) ...
    assert [c["text"] for c in by_job["0"]["cells"][:4]] == ["0", "finished", "0.5", "11"]
    assert float(by_job["1"]["cells"][3]["v"]) == 14.6
    assert "best" in by_job["0"]["cells"][3]["class"]
    assert not any("best" in c["class"] for r in rows[1:] for c in r["cells"])
    assert by_job["2"]["class"] == "failed" and by_job["2"]["cells"][-1]["text"] == "TrainingError: nan"
    assert "test/loss against model.beta" in text  # the metric-vs-parameter figure
    _links_exist(page, sweep)
    samples = [s for s in page.images if s.endswith("samples_step0000006.png")]
    assert samples == ["0/samples/samples_step0000006.png", "1/samples/samples_step0000006.png",
                       "2/samples/samples_step0000006.png"]  # fmt: skip
    assert all((sweep / str(i) / "report.html").exists() for i in range(3))  # the job pages too


def test_sweep_summary_wins_over_the_job_folders(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    summary = {
        "optimized_metric": "test/elbo",
        "jobs": [
            # the fields genexp.sweep_summary writes (run_dir absolute, status ok/skipped/failed)
            {"num": 0, "overrides": ["model.beta=0.5"], "status": "ok", "run_dir": str(sweep / "0")},
            {"num": 1, "overrides": ["model.beta=1"], "status": "skipped", "run_dir": str(sweep / "1")},
            {"num": 2, "overrides": ["model.beta=2"], "status": "failed", "error": "boom", "run_dir": "2"},
        ],
    }
    (sweep / "sweep_summary.json").write_text(json.dumps(summary))
    loaded = load_sweep(sweep)
    assert loaded.optimized_metric == "test/elbo" and loaded.maximize  # an ELBO: higher is better
    assert [j.state for j in loaded.jobs] == ["finished", "finished", "failed"]
    assert loaded.jobs[2].error == "boom"


def test_cli_rebuilds_and_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = _sweep(tmp_path)
    run = make_run(tmp_path / "other_day" / "run", ["model=vae", "model.beta=8"], METRICS)
    monkeypatch.chdir(tmp_path)
    assert report_main([str(run), str(sweep)]) == 0
    assert (run / "report.html").exists() and (sweep / "report.html").exists()
    compare = tmp_path / "report_compare.html"
    page = _Page(compare.read_text())
    _links_exist(page, tmp_path)
    names = [r["cells"][0]["text"] for r in page.rows if r["cells"]]
    assert names == ["other_day/run", "sweep/0", "sweep/1", "sweep/2"]
    assert report_main([str(tmp_path / "missing")]) == 2
    out = write_comparison_report([run], tmp_path / "one.html")
    assert "Comparison of 1 runs" in out.read_text()


def test_a_failing_report_is_only_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import genexp.report
    from genexp.train import write_report

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(genexp.report, "finish_run", broken)
    with caplog.at_level(logging.WARNING):
        write_report(tmp_path, None, 1.0)
    assert "could not write" in caplog.text and "disk full" in caplog.text

"""End to end: a tiny run and a tiny 3-job sweep write their report pages, which a real headless
Chromium renders (not blank: the table's best cell and the sample scatter plots show)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_genexp
from PIL import Image

pytestmark = pytest.mark.slow

TINY = ["model=vae", "dataset=grid25", "dataset.n_train=500", "trainer=smoke", "logger=none", "metric=none"]
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
BEST_GREEN = (200, 240, 200)  # td.best in genexp/report/html.py
SAMPLE_RED = (214, 39, 40)  # matplotlib's tab:red, the samples in a 2-D scatter figure


def _check_pages(run: Path, sweep: Path) -> None:
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    text = (run / "report.html").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    assert f'data-v="{float(metrics["test/loss"])!r}"' in text
    steps = {json.loads(line)["step"] for line in (run / "history.jsonl").read_text().splitlines()}
    assert steps == set(range(1, 7))  # trainer=smoke logs every step
    sweep_text = (sweep / "report.html").read_text()
    for job in range(3):
        job_metrics = json.loads((sweep / str(job) / "metrics.json").read_text())
        assert f'data-v="{float(job_metrics["test/loss"])!r}"' in sweep_text
        assert (sweep / str(job) / "report.html").exists()
        assert f'src="{job}/samples/samples_step0000006.png"' in sweep_text
    assert sweep_text.count('class="num best"') == 1


def _browser() -> list[str]:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return [path] if name == "chromium-headless-shell" else [path, "--headless"]
    pytest.skip(
        "pages written and checked, but no headless Chromium on PATH to render them (looked for "
        + ", ".join(BROWSERS)
        + "); install it with `apt-get install -y chromium-headless-shell`"
    )


def _screenshot(page: Path, out: Path) -> np.ndarray:
    cmd = [*_browser(), "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    cmd += [f"--screenshot={out}", "--window-size=1400,1000", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.exists(), proc.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB")).astype(np.int16)


def _pixels_near(img: np.ndarray, color: tuple[int, int, int], tol: int) -> int:
    return int((np.abs(img - np.array(color)).max(axis=-1) <= tol).sum())


def test_tiny_run_and_sweep_pages_render_in_headless_chromium(tmp_path: Path) -> None:
    """One test (the runs are built once, also under xdist): the pages' content, then their rendering."""
    run = run_genexp(tmp_path, *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    sweep = tmp_path / "sweep"
    swept = run_genexp(tmp_path, "-m", *TINY, "model.beta=0.5,1,2", f"hydra.sweep.dir={sweep}")
    assert swept.returncode == 0, swept.stderr[-3000:]
    _check_pages(run.run_dir, sweep)
    sweep_png = _screenshot(sweep / "report.html", tmp_path / "sweep.png")
    assert sweep_png.shape[:2] == (1000, 1400)
    assert sweep_png.std() > 5, "blank screenshot"
    assert _pixels_near(sweep_png, BEST_GREEN, 6) > 200, "the table's best cell did not render"
    assert _pixels_near(sweep_png, SAMPLE_RED, 40) > 200, "no sample scatter plot rendered"
    run_png = _screenshot(run.run_dir / "report.html", tmp_path / "run.png")
    assert run_png.std() > 5, "blank screenshot"

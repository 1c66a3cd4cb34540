"""scripts/gpu_check.py: its CPU path (``--device cpu --quick``) passes every model in both
precisions, with what the GPU machine lacks (wandb, optuna, Hydra's plugins) unimportable; the
probe's steps/s and the report's markdown from known inputs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from gpu_checks import report  # noqa: E402
from gpu_checks.probe import StepProbe  # noqa: E402

from genexp.config import CONFIG_DIR  # noqa: E402

PRECISIONS = ("32-true", "bf16-mixed")
# absent on the GPU machine: the check must not need them
BLOCKED = (
    "wandb",
    "optuna",
    "submitit",
    "hydra_plugins.hydra_optuna_sweeper",
    "hydra_plugins.hydra_joblib_launcher",
    "hydra_plugins.hydra_submitit_launcher",
)


def run_quick_check(tmp_path: Path) -> subprocess.CompletedProcess:
    """``gpu_check.py --device cpu --quick`` in a fresh interpreter where BLOCKED cannot be imported."""
    argv = ["gpu_check.py", "--device", "cpu", "--quick", "--out", str(tmp_path / "out")]
    argv += ["--work", str(tmp_path / "work")]
    code = (
        "import runpy, sys; sys.modules.update(dict.fromkeys({blocked!r})); sys.argv = {argv!r}; "
        "runpy.run_path({script!r}, run_name='__main__')"
    ).format(blocked=BLOCKED, argv=argv, script=str(ROOT / "scripts" / "gpu_check.py"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("GENEXP_CACHE", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow  # the whole quick check: about a minute of CPU; `make test` runs it
def test_quick_cpu_check_passes_every_model_in_both_precisions(tmp_path: Path) -> None:
    proc = run_quick_check(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    models = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
    rows = {(r["model"], r["precision"]): r for r in result["models"]}
    assert set(rows) == {(m, p) for m in models for p in PRECISIONS}
    for key, row in rows.items():
        assert row["status"] == "ok", (key, row.get("error"))
        assert row["steps"] >= 2 and row["peak_mem_mib"] is None, (key, row)
        losses = row["losses"]
        assert any(k.startswith("test/") for k in losses), (key, losses)
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in losses.values()), (key, losses)
    assert result["ddp"]["status"] == "ok" and Path(result["ddp"]["checkpoint"]).is_file()
    assert result["evaluate"]["status"] == "ok" and result["evaluate"]["values"] > 0
    overhead = result["overhead"]
    if (ROOT / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        assert overhead["status"] == "ok" and overhead["ratio"] > 0 and len(overhead["repeats"]) == 1
    else:
        assert overhead["status"] == "skipped" and "no MNIST" in overhead["error"]
    inception = result["inception"]
    assert inception["status"] == "ok", inception
    assert {(r["layout"], r["dtype"]) for r in inception["rows"]} == {
        (layout, dtype) for layout in ("contiguous", "channels_last") for dtype in ("fp32", "bf16")
    }
    assert all(r["images_per_s"] > 0 for r in inception["rows"]) and inception["projected_50k_s"] > 0
    assert math.isfinite(inception["fid"]["fid"]) and inception["fid"]["n_generated"] == 8
    import torch

    assert result["machine"]["torch"] == torch.__version__ and result["machine"]["device"] == "cpu"
    assert result["failures"] == []
    table = (tmp_path / "out" / "gpu_check.md").read_text()
    for model in models:
        assert f"| `{model}` | pass | pass |" in table
    assert not (tmp_path / "out" / "logs.tar.gz").exists()  # written only for failed runs


def test_steps_per_s_counts_optimizer_steps_after_the_warm_up() -> None:
    probe = StepProbe(warmup_batches=2)
    probe._marks = [(0.0, 2), (10.0, 4), (11.0, 6), (12.0, 8)]  # a GAN: two optimizer steps a batch
    assert probe.figures() == {"steps_per_s": 2.0, "batches": 4}  # (8 - 4) steps in (12 - 10) s
    probe.warmup_batches = 1
    assert probe.figures()["steps_per_s"] == pytest.approx(6 / 12)
    probe._marks = probe._marks[:1]
    assert probe.figures() == {"steps_per_s": None, "batches": 1}


def _result(**parts) -> dict:
    row = lambda model, precision, **kw: {  # noqa: E731
        "name": f"{model}-{precision}",
        "model": model,
        "precision": precision,
        "status": "ok",
        **kw,
    }
    return {
        "command": "python scripts/gpu_check.py",
        "wall_s": 300.0,
        "machine": {
            "date": "2026-12-01T10:00:00+00:00",
            "host": "h",
            "cpu": "x86_64",
            "cpu_count": 16,
            "gpu": "NVIDIA H200",
            "cuda": "13.0",
            "python": "3.12.3",
            "torch": "2.11.0",
            "torchvision": "0.26.0",
            "lightning": "2.6.6",
            "hydra-core": "1.3.8",
            "torch-fidelity": "0.4.0",
        },
        "settings": {
            "steps": 30,
            "warmup_batches": 5,
            "callbacks": "default",
            "trainer": "gpu",
            "precisions": list(PRECISIONS),
        },
        "models": [
            row("vae", "32-true", steps_per_s=512.25, peak_mem_mib=20.0),
            row("vae", "bf16-mixed", steps_per_s=480.0, peak_mem_mib=15.5),
            row("gan", "32-true", steps_per_s=300.0, peak_mem_mib=None),
            row("gan", "bf16-mixed", status="failed", error="RuntimeError: dtype"),
        ],
        "ddp": {"name": "ddp-devices1", "status": "ok", "overrides": "model=vae"},
        "evaluate": {"name": "evaluate", "status": "skipped", "error": "time budget spent"},
        **parts,
    }


def test_report_renders_one_row_per_model_and_lists_failures_and_skips(tmp_path: Path) -> None:
    result = _result(overhead={"name": "overhead", "status": "failed", "error": "OSError: x"})
    text = report.render(result)
    assert "| `vae` | pass | pass | 512.2 | 480.0 | 20.0 | 15.5 |" in text
    assert "| `gan` | pass | **failed** | 300.0 | – | – | – |" in text
    assert "NVIDIA H200 (CUDA 13.0)" in text and "torch 2.11.0" in text
    assert "- gan-bf16-mixed: RuntimeError: dtype" in text and "- overhead: OSError: x" in text
    assert "Skipped:\n- evaluate: time budget spent" in text
    assert report.failures(result) == ["gan-bf16-mixed: RuntimeError: dtype", "overhead: OSError: x"]
    doc = tmp_path / "gpu.md"
    doc.write_text("# GPU\n\nBEFORE\n\n<!-- gpu_check:begin -->\nold\n<!-- gpu_check:end -->\n\nAFTER\n")
    report.write_doc(result, doc)
    report.write_doc(result, doc)
    written = doc.read_text()
    assert "\nold\n" not in written and written.count("<!-- gpu_check:begin -->") == 1
    assert written.index("BEFORE") < written.index("| `vae` |") < written.index("AFTER")

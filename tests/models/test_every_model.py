"""Every ``configs/model/*.yaml`` trains a few steps through the CLI on the smallest dataset it
accepts (its ``_smoke_`` overrides, else digits): adding a model's YAML adds it here.

A smoke test: it shows that the model builds, steps, checkpoints, tests and draws its figures from
the command line; the correctness of each objective is tested beside the model."""

from __future__ import annotations

import math

import pytest
from helpers.model_steps import MODELS

from genexp.config import smoke_overrides


def test_the_model_list_is_found_from_the_config_folder() -> None:
    assert {"vae", "gan", "vade", "mpcc", "pgmgan", "scgan", "gtn", "lc_vade", "swae"} <= set(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_a_few_steps_from_the_cli(genexp_cli, model: str) -> None:
    run = genexp_cli(f"model={model}", *smoke_overrides(model), "trainer=smoke", "logger=csv", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["global_step"] >= 6  # trainer=smoke: 6 optimizer steps (more for multi-optimizer steps)
    tested = {k: v for k, v in metrics.items() if k.startswith("test/") and isinstance(v, (int, float))}
    assert tested and all(math.isfinite(v) for v in tested.values()), tested
    assert (run.run_dir / ".hydra" / "config.yaml").exists()
    assert (run.run_dir / "checkpoints" / "last.ckpt").exists()
    assert any((run.run_dir / "samples").glob("samples_*.png"))
    assert list((run.run_dir / "csv").rglob("metrics.csv"))
    assert "genexp run finished" in run.stdout

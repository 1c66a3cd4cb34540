"""The command line: the default experiment, priors, loggers, help and config views, presets.
Smoke tests of the entry point: they check that runs finish and write what they should; the
correctness of objectives and metrics is tested in tests/models and tests/callbacks. (Every model's
own CLI smoke test is tests/models/test_every_model.py.)"""

from __future__ import annotations

import math

import pytest


@pytest.mark.parametrize("dataset", ["grid25", "digits"])
def test_the_default_model_trains_on_a_2d_toy_and_on_images(genexp_cli, dataset: str) -> None:
    run = genexp_cli(f"dataset={dataset}", "trainer=smoke", "logger=csv", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["global_step"] == 6 and metrics["test/recon_mse"] > 0
    pngs = sorted(p.name for p in (run.run_dir / "samples").glob("*.png"))
    assert any(p.startswith("samples_") for p in pngs)
    assert any(p.startswith("reconstructions_") for p in pngs) == (dataset == "digits")


def test_vae_with_gmm_prior_and_bernoulli_likelihood(genexp_cli) -> None:
    run = genexp_cli(
        "model=vae",
        "prior=gmm",
        "prior.num_components=4",
        "model.likelihood=bernoulli",
        "dataset=digits",
        "trainer=debug",
        "logger=none",
        "metric=none",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert math.isfinite(run.metrics()["test/reg"]) and run.metrics()["test/reg"] > 0


@pytest.mark.parametrize("logger", ["wandb", "tensorboard"])
def test_loggers_write_their_files(genexp_cli, logger: str) -> None:
    run = genexp_cli("model=vae", "dataset=grid25", "trainer=smoke", f"logger={logger}", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    if logger == "wandb":
        offline = list((run.run_dir / "wandb").glob("offline-run-*"))
        assert len(offline) == 1
    else:
        assert list((run.run_dir / "tensorboard").glob("events.out.tfevents*"))


def test_help_and_cfg_views(genexp_cli) -> None:
    run = genexp_cli("--cfg", "job")
    assert run.returncode == 0
    assert "_target_: genexp.models.vae.VAE" in run.stdout
    run = genexp_cli("--help")
    assert run.returncode == 0
    assert "genexp: config-driven experiments" in run.stdout
    model_line = next(ln for ln in run.stdout.splitlines() if ln.startswith("model: "))
    assert {"vae", "beta_vae", "gan"} <= set(model_line[7:].split(", "))


def test_debug_trainer_runs_one_batch(genexp_cli) -> None:
    run = genexp_cli("model=gan", "dataset=digits", "trainer=debug", "logger=none", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.metrics()["global_step"] == 2  # one D and one G step

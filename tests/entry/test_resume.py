"""A run killed with SIGKILL and resumed ends with the same step count and keeps its outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.cli import checkpoint_step, cli_env, run_and_kill, run_genexp

ARGS = [
    "model=vae",
    "dataset=grid25",
    "dataset.n_train=2000",
    "dataset.batch_size=10",
    "trainer.max_epochs=-1",
    "trainer.max_steps=3000",
    "callbacks.last_checkpoint.every_n_train_steps=200",
    "trainer.check_val_every_n_epoch=100",
    "logger=wandb",
    "metric=none",
    "num_threads=1",
]


_ckpt_step = checkpoint_step


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_steps(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    last = run_dir / "checkpoints" / "last.ckpt"
    run_and_kill(
        tmp_path, [*ARGS, f"hydra.run.dir={run_dir}"], lambda: last.exists() and _ckpt_step(last) >= 400
    )
    killed_at = _ckpt_step(last)
    assert 400 <= killed_at < 3000
    assert not (run_dir / "metrics.json").exists()
    wandb_id = torch.load(last, map_location="cpu", weights_only=False)["genexp"]["wandb_run_id"]
    original_config = (run_dir / ".hydra" / "config.yaml").read_text()

    resumed = run_genexp(tmp_path, f"resume={last}", run_dir=run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.metrics()["global_step"] == 3000
    assert _ckpt_step(last) == 3000
    assert (run_dir / ".hydra" / "config.yaml").read_text() == original_config
    assert list((run_dir / ".hydra_resume").iterdir())
    runs = sorted(p.name for p in (run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(name.endswith(wandb_id) for name in runs)

    fresh = run_genexp(tmp_path, *ARGS, run_dir=tmp_path / "fresh")
    assert fresh.returncode == 0
    assert fresh.metrics()["global_step"] == resumed.metrics()["global_step"]


def test_resume_auto_in_run_folder_and_fresh_when_empty(tmp_path: Path) -> None:
    args = [
        "model=vae",
        "dataset=grid25",
        "dataset.n_train=500",
        "trainer=smoke",
        "logger=none",
        "metric=none",
    ]
    first = run_genexp(tmp_path, *args, "resume=auto")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.metrics()["global_step"] == 6
    env = cli_env(tmp_path)
    cmd = [sys.executable, "-m", "genexp", "resume=auto", "trainer.max_steps=9"]
    again = subprocess.run(cmd, cwd=first.run_dir, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((first.run_dir / "metrics.json").read_text())["global_step"] == 9


STAGED = [
    "model=latent_gtn",
    "dataset=digits",
    "logger=none",
    "metric=none",
    "num_threads=1",
    "model.ae_epochs=3",
    "model.autoencoder.encoder.hidden=[32]",
    "model.autoencoder.decoder.hidden=[32]",
    "trainer.max_epochs=-1",
    "trainer.max_steps=200000",
    "trainer.check_val_every_n_epoch=1000",
    "callbacks.last_checkpoint.every_n_train_steps=50",
]


@pytest.mark.slow
def test_a_staged_run_killed_after_its_first_stage_does_not_redo_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "staged"
    artefact = run_dir / "stages" / "autoencoder.pt"
    run_and_kill(tmp_path, [*STAGED, f"hydra.run.dir={run_dir}"], artefact.exists)
    assert artefact.exists() and not (run_dir / "metrics.json").exists()
    had_checkpoint = (run_dir / "checkpoints" / "last.ckpt").exists()
    made = artefact.stat().st_mtime_ns
    saved = torch.load(artefact, map_location="cpu", weights_only=False)

    env = cli_env(tmp_path)
    again = subprocess.run(
        [sys.executable, "-m", "genexp", "resume=auto", "trainer.max_steps=30"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if had_checkpoint:  # the checkpoint says the stage is done: skipped outright
        assert not any(k.startswith("stage/autoencoder/") for k in metrics)
    else:  # no checkpoint yet: the run folder's artefact is loaded, not retrained
        assert metrics["stage/autoencoder/restored_from"] == str(artefact)
        assert metrics["stage/autoencoder/loss_first"] == saved["info"]["loss_first"]
    assert artefact.stat().st_mtime_ns == made
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    for key, value in saved["modules"]["autoencoder"].items():
        assert torch.equal(ckpt["state_dict"][f"autoencoder.{key}"], value), key

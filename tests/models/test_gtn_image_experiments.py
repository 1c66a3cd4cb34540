"""The GTN paper's image experiments (``experiment=gtn_celeba``, ``gtn_cifar10``) carry the paper's
settings and start: autoencoder stage, pairing and GTN steps on tiny files in the official format."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from helpers.configs import compose_train
from helpers.image_files import fake_celeba, fake_cifar10

from genexp.run_record import RunRecord
from genexp.train import build_run

# experiment -> (latent size, GTN width, FID generated/real counts, image side): paper Tables 1-3
PAPER = {"gtn_celeba": (100, 1200, 50000, 64), "gtn_cifar10": (128, 1500, 10000, 64)}
ON_CPU = ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.strategy=auto"]


def write_files(experiment: str, root: Path) -> list[str]:
    """Tiny official-format files and the dataset overrides that read them."""
    if experiment == "gtn_celeba":
        fake_celeba(root, partition=(0,) * 6 + (1, 1, 2, 2))
        return []
    fake_cifar10(root, per_batch=4)
    return ["dataset.val_size=4"]


@pytest.mark.parametrize("experiment", sorted(PAPER))
def test_gtn_image_experiment_has_the_paper_settings(experiment: str, tmp_path: Path) -> None:
    cfg = compose_train([f"experiment={experiment}", *ON_CPU], tmp_path)
    latent, width, n_fid, side = PAPER[experiment]
    assert cfg.model.autoencoder.latent_dim == latent and list(cfg.dataset.shape) == [3, side, side]
    assert (cfg.model.net.width, cfg.model.net.n_linear, cfg.model.net.bn_layers) == (width, 26, 20)
    assert cfg.model.optimizer.lr == 5e-5 and cfg.dataset.batch_size == 200
    fid = cfg.metric.fid
    assert (fid.n_samples, fid.n_reference, fid.reference_split) == (n_fid, n_fid, "train")
    assert (cfg.metric["is"].n_samples, cfg.metric["is"].isc_splits) == (200, 10)


@pytest.mark.parametrize("experiment", sorted(PAPER))
def test_gtn_image_experiment_starts_on_tiny_official_files(experiment: str, tmp_path: Path) -> None:
    root = tmp_path / "data"
    overrides = write_files(experiment, root)
    cfg = compose_train(
        [
            f"experiment={experiment}",
            *ON_CPU,
            f"dataset.root={root}",
            "dataset.verify_integrity=false",
            "dataset.cache_dir=null",
            *overrides,
            "model.ae_epochs=1",
            "model.net.width=32",  # the full-width GTN is built by tests/entry/test_configs.py
            "trainer.max_epochs=1",
            "trainer.max_steps=2",
            "trainer.limit_val_batches=0",
            "trainer.enable_progress_bar=false",
            "logger=none",
            "metric=none",
            "callbacks=none",
        ],
        tmp_path,
    )
    L.seed_everything(0, verbose=False)
    dm, model, trainer, _ = build_run(cfg, RunRecord(tmp_path / "run"), groups=(), with_loggers=False)
    trainer.fit(model, datamodule=dm)
    assert trainer.global_step >= 1
    assert (tmp_path / "run" / "stages" / "autoencoder.pt").exists()
    n_train = len(dm.split("train")[0])
    assert model.pairs["train"][0].shape == (n_train, PAPER[experiment][0])
    model.eval()
    with torch.no_grad():
        images = model.sample(3)
    assert images.shape == (3, 3, 64, 64) and images.abs().max() <= 1.0

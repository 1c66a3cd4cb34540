"""Metric callbacks run through lightning.Trainer on the CPU with tiny models and data."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from helpers.metric_fixtures import ClassImages, ImageAutoencoder, MixtureSampler

from genexp.callbacks.anomaly_metrics import AnomalyMetrics
from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.clustering_metrics import ClusteringMetrics
from genexp.callbacks.default_metrics import DefaultMetrics
from genexp.callbacks.inception_metrics import InceptionMetrics
from genexp.callbacks.latent_metrics import LatentDiagnostics
from genexp.callbacks.metric_base import chunk_seed
from genexp.callbacks.probe_metrics import LinearProbe
from genexp.callbacks.reconstruction_metrics import ReconstructionMetrics
from genexp.callbacks.toy2d_metrics import Toy2DMetrics
from genexp.data.toy2d import Toy2DDataModule
from genexp.metrics import fidelity, reference_cache
from genexp.metrics.clustering import clustering_scores
from genexp.metrics.frechet import frechet_distance_from_features
from genexp.run_record import run_record


def trainer(tmp_path: Path, callbacks: list, **kwargs) -> L.Trainer:
    opts = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": str(tmp_path),
        "enable_checkpointing": False,
    }
    opts.update(kwargs)
    return L.Trainer(callbacks=callbacks, **opts)


@pytest.fixture(scope="module")
def grid() -> Toy2DDataModule:
    dm = Toy2DDataModule("grid25", n_train=1000, n_val=200, n_test=5000, batch_size=100)
    dm.setup()
    return dm


def test_toy2d_callback_records_pgmgan_metrics(tmp_path: Path, grid: Toy2DDataModule) -> None:
    model = MixtureSampler(grid.distribution.means[:20], grid.distribution.sigma)
    csv_logger = L.pytorch.loggers.CSVLogger(tmp_path, name="csv", version=0)
    tr = trainer(tmp_path, [Toy2DMetrics(n_samples=20000, batch_size=3000, strict=True)], logger=csv_logger)
    tr.test(model, datamodule=grid, verbose=False)
    res = run_record(tr).results
    assert res["test/modes"] == 20 and res["test/modes_total"] == 25
    assert res["test/hq_pct"] == pytest.approx(100 * 0.9973**2, abs=0.3)
    assert res["test/reverse_kl"] == pytest.approx(math.log(25 / 20), abs=0.01)
    assert res["test/mode_share_min"] == 0.0 and len(res["test/mode_share"]) == 25
    assert res["test/low_density_frac"] == pytest.approx(0.01, abs=0.005)
    assert res["test/toy2d_protocol"]["n_samples"] == 20000
    csv_logger.save()
    with open(tmp_path / "csv" / "version_0" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert float(next(r for r in rows if r.get("test/modes"))["test/modes"]) == 20


def test_toy2d_every_n_epochs_during_fit(tmp_path: Path, grid: Toy2DDataModule) -> None:
    model = MixtureSampler(grid.distribution.means, grid.distribution.sigma)
    cb = Toy2DMetrics(n_samples=2000, batch_size=1000, every_n_epochs=1, at_test=False, strict=True)
    tr = trainer(
        tmp_path, [cb], max_epochs=2, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=1
    )
    calls = []
    original = cb.run
    cb.run = lambda t, m, stage: calls.append(stage) or original(t, m, stage)
    tr.fit(model, datamodule=grid)
    tr.test(model, datamodule=grid, verbose=False)
    assert calls == ["val", "val"]  # not during the sanity check, not at test
    assert run_record(tr).results["val/modes"] == 25 and "test/modes" not in run_record(tr).results


def test_image_callbacks_give_the_directly_computed_values(tmp_path: Path) -> None:
    dm = ClassImages(n=400, outlier_classes=[0])
    model = ImageAutoencoder(cluster_shift=1)
    cbs = [
        ClusteringMetrics(batch_size=64, strict=True),
        AnomalyMetrics(batch_size=64, strict=True),
        LatentDiagnostics(n_prior=200, batch_size=64, strict=True),
        LinearProbe(strict=True),
        ReconstructionMetrics(batch_size=64, strict=True),
    ]
    tr = trainer(tmp_path, cbs)
    tr.test(model, datamodule=dm, verbose=False)
    res = run_record(tr).results
    x, y = dm.get_data("test")
    direct = clustering_scores(y, model.cluster(x))
    for key, value in direct.items():
        assert res[f"test/{key}"] == pytest.approx(value)
    assert res["test/cluster_acc"] == pytest.approx(1.0) and res["test/cluster_purity"] == pytest.approx(1.0)
    assert res["test/auroc"] == pytest.approx(1.0)
    assert res["test/anomaly_protocol"] == {
        "split": "test",
        "outlier_classes": [0],
        "n_inliers": 150,
        "n_outliers": 50,
        "positive": "outlier",
        "score": "model.anomaly_score (higher = more anomalous)",
    }
    xt, _ = dm.get_data("train")
    mse_x = (xt - model.reconstruct(xt)).pow(2).mean().item()
    assert res["test/log_mse_x"] == pytest.approx(math.log(mse_x), rel=1e-6)
    assert res["test/h_q_zx"] == pytest.approx(4 * 0.5 * (math.log(2 * math.pi * math.e) - 2.0))
    mu = model.encode(xt).double()  # log-variance -2 everywhere
    kl_vae = 0.5 * (mu.pow(2) + math.exp(-2.0) + 2.0 - 1.0).sum(1).mean().item()
    m, s = mu.mean(0), torch.cov(mu.T)  # D_KL^Z: the batch Gaussian of the means against N(0, I)
    kl_z = 0.5 * (torch.trace(s) + m @ m - 4 - torch.logdet(s)).item()
    assert res["test/kl_vae"] == pytest.approx(kl_vae, rel=1e-9)
    assert res["test/kl_z"] == pytest.approx(kl_z, rel=1e-6)
    assert res["test/mi_q"] == pytest.approx(kl_vae - kl_z, rel=1e-6)
    assert res["test/linear_probe_acc"] == pytest.approx(1.0)
    mse_test = (x - model.reconstruct(x)).pow(2).mean().item()
    assert res["test/reconstruction_mse"] == pytest.approx(mse_test, rel=1e-6)


def test_inception_path_with_tiny_extractor_and_cache(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    model = ImageAutoencoder()
    cache = tmp_path / "cache"
    make = lambda: InceptionMetrics(
        metrics=["fid", "kid"],
        extractor="tiny",
        n_samples=300,
        n_reference=None,
        batch_size=128,
        cache_dir=str(cache),
        seed=3,
        strict=True,
    )
    tr = trainer(tmp_path, [make()])
    tr.test(model, datamodule=dm, verbose=False)
    res = run_record(tr).results
    cached = list((cache / "fidelity").glob("bands-train-genexp-tiny-*.pt"))
    assert len(cached) == 1
    # the same numbers from features computed directly
    ext = fidelity.make_extractor(fidelity.tiny_spec(), ["features", "logits"])
    real = fidelity.extract(ext, fidelity.to_uint8_rgb(dm.get_data("train")[0], (-1, 1)))
    assert torch.allclose(reference_cache.load_reference(cached[0])["features"], real["features"], atol=1e-6)
    samples = []
    for k in range(3):  # the callback's samples: chunk k of 128 rows under chunk_seed(3, k)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(chunk_seed(3, k))
            samples.append(model.sample(min(128, 300 - 128 * k)))
    gen = fidelity.extract(ext, fidelity.to_uint8_rgb(torch.cat(samples), (-1, 1)))
    direct = frechet_distance_from_features(gen["features"], real["features"])
    assert res["test/fid"] == pytest.approx(direct, rel=1e-6) and direct > 1e-4
    proto = res["test/fid_protocol"]
    assert proto["n_samples"] == 300 and proto["reference_split"] == "train" and proto["n_reference"] == 400
    assert proto["seed"] == 3 and proto["kid_subset_size"] == 300 and proto["resizer"] == "avg-pool 4x4"
    # a second run reuses the cache (the file is not rewritten) and gives the same value
    mtime = cached[0].stat().st_mtime_ns
    tr2 = trainer(tmp_path, [make()])
    tr2.test(model, datamodule=dm, verbose=False)
    assert cached[0].stat().st_mtime_ns == mtime
    assert run_record(tr2).results["test/fid"] == pytest.approx(res["test/fid"], rel=1e-9)


def test_missing_weights_warn_once_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cb = InceptionMetrics(metrics=["fid"], weights_path=str(tmp_path / "none.pth"), n_samples=10)
    tr = trainer(tmp_path, [cb])
    with caplog.at_level(logging.WARNING):
        tr.test(ImageAutoencoder(), datamodule=ClassImages(n=40), verbose=False)
        tr.test(ImageAutoencoder(), datamodule=ClassImages(n=40), verbose=False)
    msgs = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(msgs) == 1 and "make assets" in msgs[0]
    assert not any(k.startswith("test/fid") for k in run_record(tr).results)


def test_is_refused_on_logits_less_weights(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    weights = tmp_path / "zero_fc.pth"
    torch.save({"Mixed_7c.branch_pool.conv.weight": torch.zeros(1), "fc.weight": torch.zeros(3, 2)}, weights)
    cb = InceptionMetrics(metrics=["is"], weights_path=str(weights), n_samples=10, name="is")
    tr = trainer(tmp_path, [cb])
    with caplog.at_level(logging.WARNING):
        tr.test(ImageAutoencoder(), datamodule=ClassImages(n=40), verbose=False)
    text = caplog.text
    assert "IS refused" in text and "no logits layer" in text
    assert not any(k.startswith("test/is") for k in run_record(tr).results)


def test_domain_classifier_metrics(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    cb = DomainClassifierMetrics(
        metrics=["fd", "is", "modes"],
        n_samples=400,
        epochs=5,
        batch_size=128,
        cache_dir=str(tmp_path / "cache"),
        strict=True,
    )
    tr = trainer(tmp_path, [cb])
    tr.test(ImageAutoencoder(), datamodule=dm, verbose=False)
    res = run_record(tr).results
    assert res["test/domain_classifier_test_acc"] > 0.95
    assert res["test/modes"] == 4 and res["test/modes_total"] == 4
    assert res["test/reverse_kl_log10"] < 0.01  # balanced classes
    assert res["test/is_classifier"] == pytest.approx(4.0, abs=0.5)  # confident, balanced over 4 classes
    assert "test/fd_classifier" in res  # its value: tests/callbacks/test_metric_values.py
    assert res["test/fd_classifier_protocol"]["reference_split"] == "test"
    assert len(list((tmp_path / "cache" / "domain_classifier").glob("bands-mlp-*.pt"))) == 1


def test_default_metrics_selection(tmp_path: Path, grid: Toy2DDataModule) -> None:
    cb = DefaultMetrics(seed=0, n_samples=1000)
    tr = trainer(tmp_path, [cb])
    tr.test(MixtureSampler(grid.distribution.means, grid.distribution.sigma), datamodule=grid, verbose=False)
    assert [type(c).__name__ for c in cb.children] == ["Toy2DMetrics"]
    assert run_record(tr).results["test/modes"] == 25
    cb2 = DefaultMetrics(weights_path=str(tmp_path / "none.pth"), cache_dir=str(tmp_path / "c"))
    tr2 = trainer(tmp_path, [cb2], limit_test_batches=1)
    cb2.kwargs["n_samples"] = 50
    tr2.test(ImageAutoencoder(), datamodule=ClassImages(n=200), verbose=False)
    names = [type(c).__name__ for c in cb2.children]
    assert names == [
        "DomainClassifierMetrics",
        "ClusteringMetrics",
        "LatentDiagnostics",
        "LinearProbe",
        "ReconstructionMetrics",
    ]  # no Inception on the CPU, no anomaly without outlier classes
    assert "test/fd_classifier" in run_record(tr2).results and "test/cluster_acc" in run_record(tr2).results

"""A second instance of a metric beside the first (``key_prefix``), and FD (clf) on codes from the
target (``TargetSampleFD``: its own samples, the model's switch restored; issue 13)."""

from __future__ import annotations

from pathlib import Path

import torch
from helpers.metric_fixtures import ClassImages, ImageAutoencoder
from helpers.trainers import bare_trainer

from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.reconstruction_metrics import ReconstructionMetrics
from genexp.callbacks.target_sample_metrics import TargetSampleFD
from genexp.run_record import run_record


class Switchable(ImageAutoencoder):
    """Band images with ``sample_from: shrunk``; all-dark images with ``target``."""

    sample_from = "shrunk"

    def sample(self, n: int) -> torch.Tensor:
        x = super().sample(n)
        return x if self.sample_from == "shrunk" else torch.full_like(x, -0.8)


def test_key_prefix_lets_a_second_instance_record_beside_the_first(tmp_path: Path) -> None:
    test = ReconstructionMetrics(split="test", strict=True)
    val = ReconstructionMetrics(split="val", key_prefix="val_", name="reconstruction_val", strict=True)
    tr = bare_trainer(tmp_path, [test, val])
    tr.test(ImageAutoencoder(), datamodule=ClassImages(n=400), verbose=False)
    res = run_record(tr).results
    assert (
        res["test/val_reconstruction_protocol"]["split"] == "val"
        and res["test/val_reconstruction_protocol"]["n"] == 100
    )
    assert res["test/reconstruction_protocol"]["split"] == "test"
    assert res["test/val_reconstruction_mse"] != res["test/reconstruction_mse"]


def test_target_fd_samples_the_target_apart_from_the_runs_own_fd(tmp_path: Path) -> None:
    common = dict(
        metrics=["fd"], n_samples=400, epochs=3, batch_size=200, cache_dir=str(tmp_path / "c"), strict=True
    )
    own, target = DomainClassifierMetrics(**common), TargetSampleFD(**common)
    model = Switchable()
    seen = []
    for order in ([own, target], [target, own]):  # neither reuses the other's generated features
        tr = bare_trainer(tmp_path, order)
        tr.test(model, datamodule=ClassImages(n=400), verbose=False)
        res = run_record(tr).results
        assert model.sample_from == "shrunk"  # restored
        assert res["test/fd_classifier"] < 0.5 * res["test/fd_classifier_target"]  # dark images are far
        assert "test/fd_classifier_target_protocol" in res and "test/domain_classifier_test_acc_target" in res
        seen.append((res["test/fd_classifier"], res["test/fd_classifier_target"]))
    assert seen[0] == seen[1]  # the same numbers in either order
    assert (
        TargetSampleFD(**common).skip_reason(tr, ImageAutoencoder())
        == "ImageAutoencoder has no sample_from switch"
    )

"""The run's seed draws generated samples only; a metric's yardstick (reference subsets, baselines,
probes, extractors) has its own protocol seed (issue #21's audit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from helpers.configs import compose_train
from helpers.metric_fixtures import ClassImages, ImageAutoencoder
from helpers.trainers import bare_trainer

from genexp.callbacks.default_metrics import select_metrics
from genexp.callbacks.entropy_metrics import LatentEntropy
from genexp.callbacks.memorisation_metrics import MemorisationMetrics
from genexp.callbacks.probe_metrics import LinearProbe


def _values(tmp_path: Path, cb: Any, dm: Any = None, model: Any = None) -> dict[str, Any]:
    """Run one metric callback in a test phase on band images; return what it recorded."""
    out: dict[str, Any] = {}
    original = cb.run
    cb.run = lambda t, m, stage: out.update(original(t, m, stage) or {}) or out
    trainer = bare_trainer(tmp_path, [cb])
    trainer.test(model or ImageAutoencoder(), datamodule=dm or ClassImages(n=400), verbose=False)
    return out


def test_memorisation_references_do_not_follow_the_run_seed(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    refs = {s: MemorisationMetrics(seed=s, n_reference=100).references(dm) for s in (0, 1)}
    assert all(torch.equal(a, b) for a, b in zip(refs[0], refs[1]))
    other = MemorisationMetrics(seed=0, n_reference=100, reference_seed=1).references(dm)
    assert not torch.equal(other[0], refs[0][0])
    make = lambda s: MemorisationMetrics(seed=s, n_samples=200, n_reference=100, strict=True)
    runs = {s: _values(tmp_path / f"s{s}", make(s), dm) for s in (0, 1)}
    for s, run in runs.items():
        proto = run["test/memorisation_protocol"]
        assert proto["seed"] == s and proto["reference_seed"] == 0 and proto["n_reference"] == 100
    # other samples (the seed's job), measured against the same references
    assert runs[0]["test/nn_train_dist"] != runs[1]["test/nn_train_dist"]


def test_latent_entropy_reference_does_not_follow_the_run_seed(tmp_path: Path) -> None:
    runs = {s: _values(tmp_path / f"s{s}", LatentEntropy(n=200, seed=s, strict=True)) for s in (0, 7)}
    other = _values(tmp_path / "r1", LatentEntropy(n=200, reference_seed=1, strict=True))
    assert runs[0]["test/latent_entropy_normal_ref"] == runs[7]["test/latent_entropy_normal_ref"]
    assert runs[0]["test/latent_entropy_gap"] == runs[7]["test/latent_entropy_gap"]
    assert other["test/latent_entropy_normal_ref"] != runs[0]["test/latent_entropy_normal_ref"]
    assert runs[7]["test/latent_entropy_protocol"]["reference_seed"] == 0


def test_linear_probe_has_its_own_seed(tmp_path: Path) -> None:
    run = _values(tmp_path, LinearProbe(seed=5, strict=True))  # seed: from configs saved before #21, ignored
    assert run["test/linear_probe_protocol"]["probe_seed"] == 0
    assert run["test/linear_probe_acc"] == pytest.approx(1.0)


def test_default_metrics_pass_the_run_seed_to_samples_only() -> None:
    picked = select_metrics(
        ClassImages(n=40), ImageAutoencoder(), False, None, seed=4, cache_dir=None, n_samples=10
    )
    chosen = {type(c).__name__: c for c in picked}
    clf, probe = chosen["DomainClassifierMetrics"], chosen["LinearProbe"]
    assert clf.seed == 4 and clf.classifier_seed == 0 and probe.probe_seed == 0
    assert chosen["LatentDiagnostics"].seed == 4  # prior draws of the model: samples


def test_metric_configs_keep_protocol_seeds_off_the_run_seed(tmp_path: Path) -> None:
    cfg = compose_train(
        [
            "seed=5",
            "metric=[fd_classifier,is_classifier,stacked_mnist_modes,memorisation,"
            "latent_entropy,linear_probe]",
        ],
        tmp_path,
    )
    m = cfg.metric
    for name in ("fd_classifier", "is_classifier", "stacked_mnist_modes"):
        assert m[name].seed == 5 and m[name].classifier_seed == 0, name
    assert m.memorisation.seed == 5 and m.memorisation.reference_seed == 0
    assert m.latent_entropy.reference_seed == 0 and "seed" not in m.latent_entropy
    assert m.linear_probe.probe_seed == 0 and "seed" not in m.linear_probe
    default = compose_train(["seed=5", "metric=default"], tmp_path).metric.default
    assert default.seed == 5 and default.classifier_seed == 0

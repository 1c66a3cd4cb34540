"""The domain classifier as part of a metric's protocol, field by field: its default recipe, cache
key, saved info, lock file, recorded protocol, extractor spec and torch-fidelity extractor
(mutation triage of ``metrics/classifier_extractor.py``)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import torch
from helpers.metric_fixtures import class_images

from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.metrics import classifier_extractor as ce
from genexp.metrics import domain_classifier as dc
from genexp.metrics.fidelity import ExtractorSpec
from genexp.metrics.reference_cache import protocol_hash


def test_default_recipe_is_the_metrics_default() -> None:
    config = ce.classifier_config([1, 28, 28], 10, per_channel=False)
    assert config == {
        "shape": [1, 28, 28],
        "num_classes": 10,
        "per_channel": False,
        "arch": "mlp",
        "hidden": 256,
        "epochs": 10,
        "batch_size": 128,
        "lr": 1e-3,
        "max_train": 60000,
        "seed": 0,
        "base": 10,
    }
    cb = DomainClassifierMetrics(metrics=["fd"])  # the metric's defaults: the same recipe
    assert (
        ce.classifier_config([1, 28, 28], 10, False, seed=cb.classifier_seed, **cb.classifier_kwargs)
        == config
    )
    # per channel, the classes are the digits of one channel
    assert ce.classifier_config([3, 28, 28], 1000, per_channel=True)["num_classes"] == 10


def test_cache_path_is_keyed_by_config_and_data_fingerprint(tmp_path: Path) -> None:
    config = ce.classifier_config([1, 8, 8], 4, per_channel=False, arch="cnn")
    path = ce.classifier_cache_path(tmp_path, "bands", config, "fp1")
    key = protocol_hash({"config": config, "data": "fp1"})
    assert path == tmp_path / "domain_classifier" / f"bands-cnn-{key}.pt"
    assert ce.classifier_cache_path(tmp_path, "bands", config, "fp2") != path


def test_fit_and_save_is_seeded_training_of_the_first_max_train_rows(tmp_path: Path) -> None:
    x, y = class_images(40, 4, 8, seed=1)
    xt, yt = class_images(12, 4, 8, seed=2)
    config = ce.classifier_config([1, 8, 8], 4, False, hidden=8, epochs=2, batch_size=8, max_train=30, seed=3)
    path = tmp_path / "a" / "b" / "c.pt"  # parents created
    start = time.perf_counter()
    info = ce.fit_and_save(path, config, (x, y), (xt, yt), "bands", "the bands")
    elapsed = time.perf_counter() - start
    model, saved = ce.load_classifier(path)
    assert not model.training
    torch.manual_seed(3)  # by hand: initialised and trained with the classifier's seed
    by_hand = dc.DomainClassifier(config)
    dc.train_classifier(by_hand, x[:30], y[:30], 2, 8, 1e-3, 3)
    state = model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in by_hand.state_dict().items())
    seconds = info.pop("train_seconds")
    assert isinstance(seconds, float) and 0.0 <= seconds <= elapsed + 0.005  # rounded to 0.01 s
    assert (
        info
        == saved
        == {
            "dataset": "bands",
            "train_acc": dc.accuracy(model.net, x[:30], y[:30]),
            "test_acc": dc.accuracy(model.net, xt, yt),
            "n_train": 30,
            "n_test": 12,
            "seed": 3,
            "train_data": "the bands",
        }
    )


def test_ensure_classifier_locks_a_file_next_to_the_cache_file(tmp_path: Path) -> None:
    x, y = class_images(16, 4, 8, seed=1)
    config = ce.classifier_config([1, 8, 8], 4, False, hidden=8, epochs=1, max_train=None)
    trained, _ = ce.ensure_classifier(tmp_path / "c.pt", config, (x, y), (x, y), "bands")
    assert trained and (tmp_path / "c.lock").is_file()


def test_protocol_records_every_field(tmp_path: Path) -> None:
    path = tmp_path / "clf.pt"
    path.write_bytes(b"weights")
    config = ce.classifier_config([1, 8, 8], 4, per_channel=False, epochs=3, seed=5)
    info = {"train_data": "train split", "n_train": 40, "test_acc": 0.75, "n_test": 12, "dataset": "x"}
    assert ce.classifier_protocol(path, config, info) == {
        "classifier_file": "clf.pt",
        "classifier_sha256": hashlib.sha256(b"weights").hexdigest(),
        "classifier_seed": 5,
        "classifier_recipe": {
            "arch": "mlp",
            "hidden": 256,
            "epochs": 3,
            "batch_size": 128,
            "lr": 1e-3,
            "max_train": 60000,
            "per_channel": False,
        },
        "classifier_train_data": "train split",
        "classifier_n_train": 40,
        "classifier_test_acc": 0.75,
        "classifier_n_test": 12,
    }


@pytest.mark.parametrize(("per_channel", "label"), [(False, "cnn"), (True, "per-channel cnn")])
def test_spec_reads_float_data_at_native_resolution(per_channel: bool, label: str) -> None:
    config = ce.classifier_config([1, 8, 8], 4, per_channel=per_channel, arch="cnn", hidden=32)
    assert ce.classifier_spec("/c/clf.pt", config) == ExtractorSpec(
        name="genexp-domain-classifier",
        feature_layer="features",
        logits_layer="logits",
        input="float",
        weights_path="/c/clf.pt",
        resizer="none (native resolution)",
        label=f"genexp domain classifier ({label}, hidden 32)",
    )


def test_extractor_is_frozen_and_needs_a_weights_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^genexp-domain-classifier needs feature_extractor_weights_path"):
        ce.DomainClassifierExtractor(dc.EXTRACTOR_NAME, ["features"])
    x, y = class_images(16, 4, 8, seed=1)
    config = ce.classifier_config([1, 8, 8], 4, False, hidden=8, epochs=1, max_train=None)
    ce.fit_and_save(tmp_path / "c.pt", config, (x, y), (x, y), "bands")
    extractor = ce.DomainClassifierExtractor(
        dc.EXTRACTOR_NAME, ["logits", "features"], feature_extractor_weights_path=str(tmp_path / "c.pt")
    )
    assert not any(p.requires_grad for p in extractor.parameters()) and not extractor.training
    logits, feats = extractor(x.double())  # float64 input is cast; outputs in the requested order
    assert logits.shape == (16, 4) and feats.shape == (16, 8) and logits.dtype == torch.float32

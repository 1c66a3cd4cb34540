"""metric=prdc / metric=fd_inf end to end (lightning.Trainer, CPU, tiny extractors): values equal a
direct recomputation on the same features, a copy of the reference scores 1 / 0, the protocol and
the FD-vs-N plot are recorded, missing weights skip with one line, a DINOv2-class extractor runs
from a user file, a stale real-feature cache is refused and rebuilt, and metric=default picks
density/coverage and FD∞."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.metric_fixtures import (
    ClassImages,
    FixedImages,
    ImageAutoencoder,
    callback_samples,
    recorded_values,
)
from helpers.tiny_extractors import tiny_dinov2_entry, tiny_dinov2_file

from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.default_metrics import select_metrics
from genexp.callbacks.extractor_metrics import ExtractorMetrics
from genexp.metrics import extractors, fidelity
from genexp.metrics.fd_infinity import fd_infinity
from genexp.metrics.prdc import precision_recall_density_coverage
from genexp.metrics.weight_files import file_sha256


def run(tmp_path: Path, callbacks: list, model, dm) -> dict:
    """The values ``callbacks`` record in one test phase."""
    return recorded_values(tmp_path, callbacks, model, dm)


drawn = callback_samples


def tiny(tmp_path: Path, **kw) -> ExtractorMetrics:
    options = dict(
        metrics=["prdc", "fd_inf", "fd", "kid"],
        extractor="tiny",
        n_samples=300,
        n_reference=None,
        batch_size=300,
        kid_subsets=10,
        kid_subset_size=100,
        cache_dir=str(tmp_path / "cache"),
        seed=3,
        strict=True,
    )
    return ExtractorMetrics(**{**options, **kw})


@pytest.fixture
def dm() -> ClassImages:
    dm = ClassImages(n=300)
    dm.setup()
    return dm


def test_values_equal_a_direct_recomputation_and_a_copy_scores_one(tmp_path: Path, dm) -> None:
    train = dm.get_data("train")[0]
    model = ImageAutoencoder()
    right = run(tmp_path / "right", [tiny(tmp_path, name="m")], model, dm)
    ext = fidelity.make_extractor(fidelity.tiny_spec(), ["features"])
    feats = lambda x: fidelity.extract(ext, fidelity.to_uint8_rgb(x, (-1, 1)))["features"]  # noqa: E731
    gen, ref = feats(drawn(model, 300, 3, 300)), feats(train)
    direct = precision_recall_density_coverage(ref, gen, 3, 5)
    for key in ("precision", "recall", "density", "coverage"):
        assert right[f"test/{key}_tiny"] == pytest.approx(direct[key], abs=1e-12), key
    assert 0.5 < right["test/density_tiny"] and 0.5 < right["test/coverage_tiny"] < 1.0
    inf = fd_infinity(gen, ref, 5, 0.1, seed=3)
    assert right["test/fd_inf_tiny"] == pytest.approx(inf["fid_inf"], rel=1e-9)
    np.testing.assert_allclose(right["test/fd_inf_tiny_points"], inf["fid_inf_points"], rtol=1e-9)
    assert right["test/fd_tiny"] == pytest.approx(inf["fid_inf_points"][-1][1], rel=1e-9)  # N = all
    proto = right["test/m_protocol"]
    assert proto["extractor"] == "tiny" and proto["fd_inf_sizes"] == [30, 98, 165, 232, 300]
    assert (proto["prc_neighborhood"], proto["dc_neighborhood"]) == (3, 5)
    assert (proto["kid_subsets"], proto["kid_subset_size"]) == (10, 100)
    assert proto["extractor_input"]["resize"] == "avg-pool 4x4"
    assert (tmp_path / "right" / "samples" / "m_fd_vs_n.png").stat().st_size > 1000
    copy = run(tmp_path / "copy", [tiny(tmp_path)], FixedImages(train), dm)
    assert [copy[f"test/{k}_tiny"] for k in ("precision", "recall", "density", "coverage")] == [1.0] * 4
    assert abs(copy["test/fd_tiny"]) < 1e-9 and abs(copy["test/kid_tiny"]) < 0.05
    assert abs(copy["test/fd_inf_tiny_points"][-1][1]) < 1e-9  # all rows of the reference itself
    assert abs(copy["test/fd_inf_tiny"]) < copy["test/fd_inf_tiny_points"][0][1]  # less than the N/10 bias


def test_missing_weights_skip_with_one_line(tmp_path: Path, dm, caplog) -> None:
    cb = ExtractorMetrics(extractor="dinov2_vitb14", assets_dir=str(tmp_path), name="prdc", strict=True)
    with caplog.at_level(logging.WARNING):
        results = run(tmp_path, [cb], ImageAutoencoder(), dm)
    assert not any(k.startswith("test/") for k in results)
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert f"{tmp_path / 'dinov2_vitb14_pretrain.pth'}" in lines[0] and "sha256 not pinned" in lines[0]
    with pytest.raises(ValueError, match="unknown feature extractor 'nope'"):
        ExtractorMetrics(extractor="nope")
    with pytest.raises(ValueError, match=r"unknown feature metrics \['is'\]"):
        ExtractorMetrics(metrics=["is"], extractor="tiny")


def test_a_dinov2_class_extractor_runs_from_a_user_file(tmp_path: Path, dm, monkeypatch) -> None:
    pytest.importorskip("timm")
    entry = tiny_dinov2_entry()
    monkeypatch.setitem(extractors.REGISTRY, entry.key, entry)
    path = tiny_dinov2_file(tmp_path / "tiny.pth")
    make = lambda sha: ExtractorMetrics(  # noqa: E731
        metrics=["prdc"],
        extractor="dinov2_tiny",
        weights_path=str(path),
        weights_sha256=sha,
        n_samples=100,
        n_reference=100,
        batch_size=100,
        cache_dir=str(tmp_path / "c"),
        strict=True,
    )
    ok = run(tmp_path / "ok", [make(None)], FixedImages(dm.get_data("train")[0]), dm)
    assert [ok[f"test/{k}_dinov2_tiny"] for k in ("precision", "recall", "density", "coverage")] == [1.0] * 4
    assert ok["test/prdc_protocol"]["weights_sha256"] == file_sha256(path)
    wrong = run(tmp_path / "wrong", [make("0" * 64)], ImageAutoencoder(), dm)
    assert "test/coverage_dinov2_tiny" not in wrong


def test_a_stale_reference_cache_is_refused_and_rebuilt(tmp_path: Path, dm, monkeypatch) -> None:
    first = run(tmp_path / "a", [tiny(tmp_path, metrics=["prdc"])], ImageAutoencoder(), dm)
    (path,) = (tmp_path / "cache" / "fidelity").glob("*.pt")
    good = torch.load(path, weights_only=False)
    assert good["protocol"]["split"] == "train" and good["protocol"]["spec"]["name"] == fidelity.TINY
    # the same file name with other features and another recorded protocol: refused, rebuilt
    bad = {**good, "features": {"features": torch.zeros_like(good["features"]["features"])}}
    torch.save({**bad, "protocol": {**good["protocol"], "n": 1}}, path)
    again = run(tmp_path / "b", [tiny(tmp_path, metrics=["prdc"])], ImageAutoencoder(), dm)
    assert again["test/density_tiny"] == first["test/density_tiny"]
    assert torch.load(path, weights_only=False)["protocol"] == good["protocol"]
    # a file that records the caller's protocol is used as it is (poisoned on purpose)
    torch.save(bad, path)
    used = run(tmp_path / "c", [tiny(tmp_path, metrics=["prdc"])], ImageAutoencoder(), dm)
    assert used["test/density_tiny"] != first["test/density_tiny"]


def test_the_domain_classifier_extractor_shares_fd_classifier(tmp_path: Path, dm) -> None:
    common = dict(n_samples=200, batch_size=200, cache_dir=str(tmp_path / "c"), strict=True)
    clf = DomainClassifierMetrics(metrics=["fd", "prdc", "fd_inf"], epochs=2, **common)
    ext = ExtractorMetrics(
        metrics=["fd", "prdc"],
        extractor="domain_classifier",
        classifier={"epochs": 2},
        reference_split="test",
        name="prdc",
        **common,
    )
    one = run(tmp_path / "one", [clf], ImageAutoencoder(), dm)
    both = run(tmp_path / "both", [ext], ImageAutoencoder(), dm)
    for key in ("fd_classifier", "density_classifier", "coverage_classifier", "precision_classifier"):
        assert both[f"test/{key}"] == pytest.approx(one[f"test/{key}"], rel=1e-12), key
    assert [n for n, _ in one["test/fd_inf_classifier_points"]] == [20, 65, 110, 155, 200]
    proto = both["test/prdc_protocol"]
    assert proto["classifier_sha256"] == one["test/fd_classifier_protocol"]["classifier_sha256"]
    assert proto["extractor"] == "domain_classifier" and proto["dc_neighborhood"] == 5


def test_default_picks_density_coverage_and_fd_inf() -> None:
    picked = select_metrics(ClassImages(n=40), ImageAutoencoder(), False, None, 0, None, 10, inception=True)
    chosen = {type(c).__name__: c for c in picked}
    assert {"prdc", "fd_inf"} <= set(chosen["DomainClassifierMetrics"].metrics)
    assert {"fid", "kid", "prdc", "fd_inf"} <= set(chosen["InceptionMetrics"].metrics)

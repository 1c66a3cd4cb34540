"""InceptionMetrics: ``metric=is`` refuses in one line without weights that have logits, and is
enabled by a file with logits (what ``prepare_assets.py --online`` installs); the speed keys are
recorded in the protocol."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from helpers.metric_fixtures import ClassImages, ImageAutoencoder

from genexp.callbacks.inception_metrics import InceptionMetrics
from genexp.metrics import full_inception
from genexp.run_record import run_record


def weights_file(path: Path, fc_value: float) -> Path:
    keys = {"Mixed_7c.branch_pool.conv.weight": torch.zeros(1), "fc.weight": torch.full((3, 2), fc_value)}
    torch.save(keys, path)
    return path


def is_callback(weights: Path) -> InceptionMetrics:
    return InceptionMetrics(metrics=["is"], weights_path=str(weights), n_samples=10, name="is")


@pytest.mark.parametrize("weights", ["missing", "fid_only"])
def test_metric_is_refuses_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, weights: str
) -> None:
    path = tmp_path / full_inception.FILE
    if weights == "fid_only":
        weights_file(path, 0.0)
    tr = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
        callbacks=[is_callback(path)],
    )
    with caplog.at_level(logging.WARNING):
        tr.test(ImageAutoencoder(), datamodule=ClassImages(n=40), verbose=False)
    lines = [r.getMessage() for r in caplog.records if "IS" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("metric 'is' skipped: IS refused:")
    assert "python scripts/prepare_assets.py --online" in lines[0]
    assert not any(k.startswith("test/is") for k in run_record(tr).results)


def test_weights_with_logits_enable_is(tmp_path: Path) -> None:
    dm = ClassImages(n=40)
    trainer = SimpleNamespace(datamodule=dm, is_global_zero=True)
    cb = is_callback(weights_file(tmp_path / full_inception.FILE, 0.5))
    assert cb.skip_reason(trainer, ImageAutoencoder()) is None and cb.active == ["is"]
    both = InceptionMetrics(metrics=["fid", "is"], weights_path=str(weights_file(tmp_path / "z.pth", 0.0)))
    assert both.skip_reason(trainer, ImageAutoencoder()) is None and both.active == ["fid"]


def test_protocol_records_the_extraction_keys() -> None:
    cb = InceptionMetrics(
        metrics=["fid"], extractor="tiny", extract_batch_size=8, channels_last=False, autocast="bf16"
    )
    proto = cb.protocol(cb.extractor_spec(None, None), None)
    assert proto["extract_batch_size"] == 8 and proto["channels_last"] is False
    assert proto["autocast"] == "bf16" and proto["extract_threads"] == "auto"
    with pytest.raises(ValueError, match="autocast"):
        InceptionMetrics(metrics=["fid"], extractor="tiny", autocast="fp8")

"""The real-feature cache records its protocol: a file recorded with another protocol, or with
none, is refused (the caller rebuilds it); one with the caller's protocol is used."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from genexp.metrics import fidelity, reference_cache


def test_a_file_with_another_or_no_protocol_is_refused(tmp_path: Path, caplog) -> None:
    spec, proto = fidelity.tiny_spec(), {"n": 10, "data": "abc"}
    path = reference_cache.reference_cache_path(tmp_path, "ds", "train", spec, proto)
    record = reference_cache.reference_record("ds", "train", spec, proto)
    assert record["spec"]["name"] == fidelity.TINY and (record["dataset"], record["split"]) == ("ds", "train")
    feats = {"features": torch.randn(10, 4)}
    reference_cache.save_reference(path, feats, {"note": "x"}, record)
    assert torch.equal(reference_cache.load_reference(path, record)["features"], feats["features"])
    other = reference_cache.reference_record("ds", "train", spec, {"n": 10, "data": "abd"})
    with caplog.at_level(logging.WARNING):
        assert reference_cache.load_reference(path, other) is None
    assert "protocol differs in ['data']" in caplog.text
    reference_cache.save_reference(path, feats, {"note": "x"})  # a file that records nothing
    with caplog.at_level(logging.WARNING):
        assert reference_cache.load_reference(path, record) is None
    assert "records no protocol" in caplog.text
    assert reference_cache.load_reference(path) is not None  # no record asked for: no check

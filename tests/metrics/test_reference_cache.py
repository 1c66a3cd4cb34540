"""The real-feature cache records its protocol: a file recorded with another protocol, or with
none, is refused (the caller rebuilds it); one with the caller's protocol is used."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
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


def test_protocol_hash_is_the_sorted_json_sha256_prefix() -> None:
    # cache file names depend on it: a change would silently orphan every existing cache file
    assert reference_cache.protocol_hash({"a": 1, "b": [2, 3]}) == "fd28b17488e0"
    assert reference_cache.protocol_hash({"b": [2, 3], "a": 1}) == "fd28b17488e0"  # key order
    expected = hashlib.sha256(b'{"a": 1, "b": [2, 3]}').hexdigest()[:12]
    assert reference_cache.protocol_hash({"a": 1, "b": [2, 3]}) == expected
    # values JSON cannot write are hashed as their str()
    assert reference_cache.protocol_hash({"p": Path("a/b")}) == reference_cache.protocol_hash({"p": "a/b"})


def test_data_fingerprint_pins_shape_sum_and_every_seventh_row() -> None:
    x = (torch.arange(16 * 6, dtype=torch.float32).reshape(16, 2, 3) * 0.41).sin()
    fp = reference_cache.data_fingerprint(x)  # sums 2.12316..., 11.30866...: kept to 4 decimals
    assert fp == "02aff3999343" and reference_cache.data_fingerprint(x.double()) == fp
    assert reference_cache.data_fingerprint(x.reshape(16, 3, 2)) != fp  # same values, other shape
    y = x.clone()
    y[0, 0, 0] += 1e-9  # far below the 4-decimal rounding of the sums
    assert reference_cache.data_fingerprint(y) == fp
    for row in (7, 14):  # rows 0, 7, 14 enter the abs-sum: moving mass into one of them, with the
        z = x.clone()  # total sum kept, changes the fingerprint
        z[row, 0, 0] += 0.5
        z[row - 1, 0, 0] -= 0.5
        assert reference_cache.data_fingerprint(z) != fp


def test_cache_path_hashes_spec_and_protocol_and_record_is_json_plain(tmp_path: Path) -> None:
    spec, proto = fidelity.tiny_spec(), {"n": 10, "root": Path("/data")}
    key = reference_cache.protocol_hash({"spec": asdict(spec), **proto})
    path = reference_cache.reference_cache_path(tmp_path, "ds", "test", spec, proto)
    assert path == tmp_path / "fidelity" / f"ds-test-{fidelity.TINY}-{key}.pt"
    record = reference_cache.reference_record("ds", "test", spec, proto)
    assert record["root"] == "/data" and record["spec"] == asdict(spec)


def test_refusal_names_the_file_and_keys_only_one_side_has(tmp_path: Path, caplog) -> None:
    spec, path = fidelity.tiny_spec(), tmp_path / "f.pt"
    saved = reference_cache.reference_record("ds", "train", spec, {"n": 10, "old": 1})
    reference_cache.save_reference(path, {"features": torch.randn(6, 3)}, {}, saved)
    asked = reference_cache.reference_record("ds", "train", spec, {"n": 10, "new": 2})
    with caplog.at_level(logging.WARNING):
        assert reference_cache.load_reference(path, asked) is None
    assert str(path) in caplog.text and "protocol differs in ['new', 'old']" in caplog.text

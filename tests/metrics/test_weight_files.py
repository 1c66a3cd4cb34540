"""Weight-file checks (genexp.metrics.weight_files): the memoised sha256, why an Inception file is
unusable, and whether it has the logits layer IS needs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from genexp.metrics.weight_files import file_sha256, inception_weights_problem, weights_have_logits


def test_sha256_of_a_file_of_several_blocks_and_memo_per_path(tmp_path: Path) -> None:
    data = os.urandom(2_500_000)  # 2.4 blocks of 1 MiB
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(data)
    b.write_bytes(data[::-1])
    os.utime(b, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns))  # same size and mtime as a
    assert file_sha256(a) == hashlib.sha256(data).hexdigest()
    assert file_sha256(b) == hashlib.sha256(data[::-1]).hexdigest()


def inception_like(path: Path, fc_value: float) -> Path:
    fc = torch.full((3, 2), fc_value)
    torch.save({"Mixed_7c.branch_pool.conv.weight": torch.zeros(1), "fc.weight": fc}, path)
    return path


def test_problems_name_the_cause_and_the_fix(tmp_path: Path) -> None:
    assert (
        inception_weights_problem("") == "no Inception weights file configured (metric.<name>.weights_path)"
    )
    missing = inception_weights_problem(tmp_path / "none.pth")
    assert missing.endswith("run `make assets` (scripts/prepare_assets.py) to create them")
    torch.save([1, 2], tmp_path / "list.pth")
    not_dict = inception_weights_problem(tmp_path / "list.pth")
    assert "(TypeError: not a state dict); recreate them with `make assets`" in not_dict
    assert inception_weights_problem(inception_like(tmp_path / "ok.pth", 0.0)) is None


def test_logits_from_the_fc_layer_or_a_sidecar(tmp_path: Path) -> None:
    small = inception_like(tmp_path / "small.pth", 0.01)  # |fc| sums to 0.06: small but non-zero
    assert weights_have_logits(small) is True
    assert weights_have_logits(inception_like(tmp_path / "zero.pth", 0.0)) is False
    (tmp_path / "small.json").write_text("{not json")  # an unreadable sidecar is ignored
    assert weights_have_logits(small) is True
    (tmp_path / "small.json").write_text(json.dumps({"fc_zeroed": False}))
    assert weights_have_logits(small) is True
    (tmp_path / "small.json").write_text(json.dumps({"fc_zeroed": True}))
    assert weights_have_logits(small) is False
    (tmp_path / "small.json").unlink()
    (tmp_path / "small.pth.json").write_text(json.dumps({"has_logits": False}))  # <path>.json
    assert weights_have_logits(small) is False

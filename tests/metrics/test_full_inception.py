"""genexp.metrics.full_inception: the sha256-checked fetch of torch-fidelity's full Inception
weights (with a fake downloader: no network) and the one-line IS refusal."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
from pathlib import Path

import pytest
import torch
from torch.hub import HASH_REGEX
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from genexp.metrics import full_inception, weight_files


def state_dict_bytes(fc_value: float) -> bytes:
    """A stand-in for the weights file: the keys the checks read, ``fc`` filled with ``fc_value``."""
    buf = io.BytesIO()
    torch.save(
        {
            "Mixed_7c.branch_pool.conv.weight": torch.zeros(1),
            "fc.weight": torch.full((4, 2), fc_value),
            "fc.bias": torch.zeros(4),
        },
        buf,
    )
    return buf.getvalue()


def serving(blob: bytes, calls: list[str]):
    def downloader(url: str, dest: Path) -> None:
        calls.append(url)
        dest.write_bytes(blob)

    return downloader


def test_source_is_torch_fidelitys_file() -> None:
    assert full_inception.URL == URL_INCEPTION_V3 and URL_INCEPTION_V3.endswith("/" + full_inception.FILE)
    # torch.hub's convention: the hex in the file name is the prefix of the file's sha256
    assert full_inception.SHA256.startswith(HASH_REGEX.search(full_inception.FILE).group(1))
    assert len(full_inception.SHA256) == 64


def test_fetch_installs_a_checked_file_once(tmp_path: Path) -> None:
    blob, calls = state_dict_bytes(0.5), []
    sha = hashlib.sha256(blob).hexdigest()
    path = full_inception.fetch(tmp_path, serving(blob, calls), sha256=sha)
    assert path == tmp_path / full_inception.FILE and path.read_bytes() == blob
    assert calls == [full_inception.URL]
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sha256"] == sha and meta["has_logits"] is True and meta["source"] == full_inception.URL
    assert weight_files.inception_weights_problem(path) is None and weight_files.weights_have_logits(path)
    assert full_inception.fetch(tmp_path, serving(blob, calls), sha256=sha) == path
    assert len(calls) == 1  # already there with the right sha256: not downloaded again


def test_fetch_refuses_and_leaves_nothing(tmp_path: Path) -> None:
    blob = state_dict_bytes(0.5)
    with pytest.raises(RuntimeError, match=f"has sha256 .*expected {full_inception.SHA256}"):
        full_inception.fetch(tmp_path / "a", serving(blob, []))  # the real sha256: a fake file fails
    assert list((tmp_path / "a").iterdir()) == []
    zero = state_dict_bytes(0.0)
    with pytest.raises(RuntimeError, match="no logits layer"):
        full_inception.fetch(tmp_path / "b", serving(zero, []), sha256=hashlib.sha256(zero).hexdigest())
    assert list((tmp_path / "b").iterdir()) == []

    def offline(url: str, dest: Path) -> None:
        dest.write_bytes(b"partial")
        raise urllib.error.URLError("no route to host")

    with pytest.raises(RuntimeError, match="could not download .*no route to host"):
        full_inception.fetch(tmp_path / "c", offline)
    assert list((tmp_path / "c").iterdir()) == []


def test_is_refusal_is_one_line_with_the_way_to_get_the_file(tmp_path: Path) -> None:
    missing = tmp_path / full_inception.FILE
    problem = weight_files.inception_weights_problem(missing)
    line = full_inception.is_refusal(missing, problem)
    assert line.startswith(f"IS refused: no Inception weights at {missing};")
    assert "python scripts/prepare_assets.py --online" in line and full_inception.FILE in line
    assert "make assets" not in line and "\n" not in line
    no_logits = full_inception.is_refusal(tmp_path / "fid_only.pth")
    assert "has no logits layer" in no_logits and "--online" in no_logits and "\n" not in no_logits


def test_download_streams_the_url_into_the_file(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 5000)  # 1.28 MB: more than one 1 MiB chunk
    dest = tmp_path / "dest.bin"
    full_inception.download(source.as_uri(), dest)
    assert dest.read_bytes() == source.read_bytes()


def test_fetch_downloads_beside_the_file_into_new_folders_and_checks_the_network(tmp_path: Path) -> None:
    no_mixed = io.BytesIO()
    torch.save({"fc.weight": torch.ones(4, 2), "fc.bias": torch.zeros(4)}, no_mixed)
    blob = no_mixed.getvalue()
    assets = tmp_path / "a" / "b"
    dests: list[Path] = []

    def downloader(url: str, dest: Path) -> None:
        dests.append(dest)
        dest.write_bytes(blob)

    with pytest.raises(RuntimeError, match="not a torch-fidelity InceptionV3 state dict"):
        full_inception.fetch(assets, downloader, sha256=hashlib.sha256(blob).hexdigest())
    assert dests == [assets / (full_inception.FILE + ".part")] and list(assets.iterdir()) == []


def test_fetch_records_what_the_file_is(tmp_path: Path) -> None:
    blob = state_dict_bytes(0.5)
    path = full_inception.fetch(tmp_path, serving(blob, []), sha256=hashlib.sha256(blob).hexdigest())
    meta = json.loads(path.with_suffix(".json").read_text())
    assert set(meta) == {"file", "sha256", "format", "source", "has_logits", "note"}
    assert meta["file"] == full_inception.FILE
    assert (
        "FeatureExtractorInceptionV3" in meta["format"] and "feature_extractor_weights_path" in meta["format"]
    )
    assert "1008-way" in meta["note"] and "Inception Score" in meta["note"]


def test_is_refusal_passes_on_the_problem_of_an_existing_file(tmp_path: Path) -> None:
    present = tmp_path / "w.pth"
    present.write_bytes(b"x")
    line = full_inception.is_refusal(present, "cannot read it")
    assert line.startswith("IS refused: cannot read it; to get the weights with logits, run `python")
    assert full_inception.is_refusal(None, "no file configured").startswith("IS refused: no file configured;")


def test_download_gives_up_on_a_stalled_server_after_two_minutes(tmp_path: Path, monkeypatch) -> None:
    opened: list[tuple] = []

    def fake_urlopen(url: str, timeout: float | None = None) -> io.BytesIO:
        opened.append((url, timeout))
        return io.BytesIO(b"weights")

    monkeypatch.setattr(full_inception.urllib.request, "urlopen", fake_urlopen)
    full_inception.download("https://example.invalid/w.pth", tmp_path / "w.pth")
    assert (
        opened == [("https://example.invalid/w.pth", 120)] and (tmp_path / "w.pth").read_bytes() == b"weights"
    )

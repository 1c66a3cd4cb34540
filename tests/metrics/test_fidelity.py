"""The torch-fidelity path: registered extractors, scores against torch-fidelity's own pipeline,
Inception weight checks (IS refuses logits-less weights) and the real-feature cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics

from genexp.metrics import fidelity, reference_cache, weight_files

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "assets" / "pt_inception-2015-12-05-6726825d.pth"


class UInt8Images(Dataset):
    """A tensor of uint8 images as a torch-fidelity input."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]


def images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 1, 1, 1, generator=gen) * 0.5 + shift
    x = base + 0.3 * torch.rand(n, 3, 12, 12, generator=gen)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def test_scores_match_torch_fidelity_calculate_metrics() -> None:
    gen_imgs, real_imgs = images(300, 0, 0.2), images(250, 1)
    extractor = fidelity.make_extractor(fidelity.tiny_spec(), ["features", "logits"])
    gen = fidelity.extract(extractor, gen_imgs)
    real = fidelity.extract(extractor, real_imgs)
    ours = fidelity.fidelity_scores(
        gen,
        real,
        fidelity.tiny_spec(),
        ["fid", "kid", "prd", "is"],
        seed=2020,
        kid_subsets=20,
        kid_subset_size=100,
    )
    ref = calculate_metrics(
        input1=UInt8Images(gen_imgs),
        input2=UInt8Images(real_imgs),
        cuda=False,
        feature_extractor=fidelity.TINY,
        fid=True,
        kid=True,
        prc=True,
        isc=True,
        cache=False,
        verbose=False,
        save_cpu_ram=True,
        kid_subsets=20,
        kid_subset_size=100,
        rng_seed=2020,
    )
    assert ours["fid"] == pytest.approx(ref["frechet_inception_distance"], rel=1e-4)
    assert ours["fid"] > 0.01
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-5)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-5)
    assert ours["precision"] == pytest.approx(ref["precision"])
    assert ours["recall"] == pytest.approx(ref["recall"])
    assert ours["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-6)


def test_to_uint8_rgb() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).reshape(4, 1, 1, 1)
    out = fidelity.to_uint8_rgb(x, (-1.0, 1.0))
    assert out.dtype == torch.uint8 and out.shape == (4, 3, 1, 1)
    assert out[:, 0, 0, 0].tolist() == [0, 128, 255, 255]
    assert torch.equal(out[:, 0], out[:, 2])
    with pytest.raises(ValueError):
        fidelity.to_uint8_rgb(torch.zeros(2, 2, 4, 4), (0, 1))


def fake_inception_file(path: Path, fc_value: float) -> Path:
    torch.save(
        {
            "Mixed_7c.branch_pool.conv.weight": torch.zeros(1),
            "fc.weight": torch.full((3, 2), fc_value),
            "fc.bias": torch.zeros(3),
        },
        path,
    )
    return path


def test_weights_checks_and_is_refusal(tmp_path: Path) -> None:
    assert "no Inception weights" in weight_files.inception_weights_problem(None)
    assert "make assets" in weight_files.inception_weights_problem(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    assert "cannot read" in weight_files.inception_weights_problem(tmp_path / "junk.pth")
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pth")
    assert "not a torch-fidelity InceptionV3" in weight_files.inception_weights_problem(
        tmp_path / "other.pth"
    )
    zero_fc = fake_inception_file(tmp_path / "zero.pth", 0.0)
    assert weight_files.inception_weights_problem(zero_fc) is None
    assert weight_files.weights_have_logits(zero_fc) is False
    real_fc = fake_inception_file(tmp_path / "real.pth", 0.5)
    assert weight_files.weights_have_logits(real_fc) is True
    # a sidecar saying the file has no logits wins
    (tmp_path / "real.json").write_text(json.dumps({"has_logits": False}))
    assert weight_files.weights_have_logits(real_fc) is False


def test_is_needs_logits_layer() -> None:
    spec = fidelity.ExtractorSpec(name=fidelity.TINY, feature_layer="features", logits_layer=None)
    feats = {"features": torch.randn(50, 16)}
    with pytest.raises(ValueError, match="IS needs the logits"):
        fidelity.fidelity_scores(feats, feats, spec, ["is"])


def test_reference_cache_roundtrip(tmp_path: Path) -> None:
    spec = fidelity.tiny_spec()
    proto = {"n": 10, "data": "abc"}
    path = reference_cache.reference_cache_path(tmp_path, "ds", "train", spec, proto)
    assert path.parent == tmp_path / "fidelity" and path.name.startswith("ds-train-genexp-tiny-")
    assert path != reference_cache.reference_cache_path(
        tmp_path, "ds", "train", spec, {"n": 11, "data": "abc"}
    )
    assert path != reference_cache.reference_cache_path(tmp_path, "ds", "test", spec, proto)
    feats = {"features": torch.randn(10, 4)}
    reference_cache.save_reference(path, feats, {"note": "x"})
    assert torch.equal(reference_cache.load_reference(path)["features"], feats["features"])
    blob = torch.load(path, weights_only=False)
    assert blob["stats"]["features"][0].shape == (4,) and blob["meta"] == {"note": "x"}
    assert reference_cache.data_fingerprint(torch.ones(3, 2)) != reference_cache.data_fingerprint(
        torch.ones(3, 2) * 2
    )


@pytest.mark.slow
@pytest.mark.skipif(not WEIGHTS.is_file(), reason="assets/ has no converted Inception weights (make assets)")
def test_real_inception_file_on_a_few_images(tmp_path: Path) -> None:
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    assert weight_files.inception_weights_problem(WEIGHTS) is None
    assert weight_files.weights_have_logits(WEIGHTS) is False  # offline file: IS must be refused
    spec = fidelity.inception_spec(str(WEIGHTS))
    extractor = fidelity.make_extractor(spec, ["2048"])
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(3, 1, 28, 28, generator=gen) * 2 - 1
    b = -a
    fa = fidelity.extract(extractor, fidelity.to_uint8_rgb(a, (-1, 1)))["2048"]
    fb = fidelity.extract(extractor, fidelity.to_uint8_rgb(b, (-1, 1)))["2048"]
    assert fa.shape == (3, 2048) and torch.isfinite(fa).all() and (fa >= 0).all()  # pool3 after ReLU
    again = fidelity.extract(extractor, fidelity.to_uint8_rgb(a[:1], (-1, 1)))["2048"]
    assert torch.allclose(again[0], fa[0], atol=1e-4)
    assert not torch.allclose(fa, fb)
    # a state dict without fc loads too (fc becomes zero)
    sd = torch.load(WEIGHTS, map_location="cpu")
    sd = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    torch.save(sd, tmp_path / "nofc.pth")
    nofc = fidelity.make_extractor(
        fidelity.inception_spec(str(tmp_path / "nofc.pth")), ["2048", "logits_unbiased"]
    )
    feats = fidelity.extract(nofc, fidelity.to_uint8_rgb(a[:1], (-1, 1)))
    assert torch.allclose(feats["2048"][0], fa[0], atol=1e-4)
    assert torch.count_nonzero(feats["logits_unbiased"]) == 0

"""The extractor registry: names, the one-line refusals (missing file, sha256 mismatch, missing
package, unloadable file), and the DINOv2 (timm) and CLIP (torch-fidelity) paths on tiny randomly
initialised models of the same classes saved to temporary files."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch
import torchvision.transforms.functional as TF
from helpers.tiny_extractors import TINY_VIT, tiny_clip_file, tiny_dinov2_entry, tiny_dinov2_file
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from genexp.metrics import extractors, fidelity
from genexp.metrics.weight_files import file_sha256


def images(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 12, 12, generator=gen) * 255).round().to(torch.uint8)


@pytest.fixture
def tiny_dinov2(monkeypatch) -> extractors.Extractor:
    """The dinov2_vitb14 entry with a tiny model of the same timm class, at 28 px."""
    pytest.importorskip("timm")
    entry = tiny_dinov2_entry()
    monkeypatch.setitem(extractors.REGISTRY, entry.key, entry)
    return entry


def test_registry_names_and_unknown_names() -> None:
    assert {"inception", "domain_classifier", "dinov2_vitb14", "dinov2_vitl14", "clip_vitb32", "tiny"} <= set(
        extractors.REGISTRY
    )
    with pytest.raises(ValueError, match=r"unknown feature extractor 'dino'; choose from \["):
        extractors.get_extractor("dino")
    assert extractors.get_extractor("inception").key_tag == ""
    assert extractors.get_extractor("domain_classifier").key_tag == "_classifier"
    assert extractors.get_extractor("clip_vitb32").key_tag == "_clip_vitb32"
    # the registry's Inception and tiny specs are the ones the Inception metrics use (shared features)
    assert extractors.get_extractor("inception").spec("w.pth") == fidelity.inception_spec("w.pth")
    assert extractors.get_extractor("tiny").spec(None) == fidelity.tiny_spec()


def test_missing_and_mismatched_weights_name_the_file_and_sha256(tmp_path: Path) -> None:
    clip = extractors.get_extractor("clip_vitb32")
    missing = extractors.weights_problem(clip, tmp_path / "ViT-B-32.pt", name="prdc")
    assert f"ViT-B-32.pt (sha256 {clip.sha256})" in missing and "not found" in missing
    assert len(clip.sha256) == 64 and "\n" not in missing
    other = tmp_path / "other.pt"
    other.write_bytes(b"not the CLIP file")
    wrong = extractors.weights_problem(clip, other, name="prdc")
    assert f"has sha256 {file_sha256(other)}, expected ViT-B-32.pt (sha256 {clip.sha256})" in wrong
    assert "metric.prdc.weights_sha256" in wrong
    dino = extractors.get_extractor("dinov2_vitb14")
    none = extractors.weights_problem(dino, None, name="fd_inf")
    assert "metric.fd_inf.weights_path" in none and "dinov2_vitb14_pretrain.pth (sha256 not pinned)" in none
    pinned = extractors.weights_problem(dino, other, sha256="ab" * 32)
    assert f"expected dinov2_vitb14_pretrain.pth (sha256 {'ab' * 32})" in pinned


def test_a_missing_package_is_named(tmp_path: Path, monkeypatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "timm" else real_find_spec(n, *a)
    )
    problem = extractors.weights_problem(extractors.get_extractor("dinov2_vitl14"), tmp_path / "x.pth")
    assert "needs the Python package 'timm'" in problem and "genexp[extractors]" in problem
    assert "dinov2_vitl14_pretrain.pth (sha256 not pinned)" in problem


def test_dinov2_path_on_a_tiny_model_of_the_same_class(tmp_path: Path, tiny_dinov2) -> None:
    from genexp.metrics.timm_extractor import load_timm_vit

    path = tiny_dinov2_file(tmp_path / "dinov2_tiny_pretrain.pth")
    assert extractors.weights_problem(tiny_dinov2, path) is None  # not pinned: any file that loads
    assert extractors.weights_problem(tiny_dinov2, path, sha256=file_sha256(path)) is None
    spec = tiny_dinov2.spec(str(path))
    assert spec.name == "genexp-timm-vit" and spec.extra["model_kwargs"] == TINY_VIT
    x = images(5, 0)
    feats = fidelity.extract(fidelity.make_extractor(spec, [spec.feature_layer]), x)["dinov2"]
    assert feats.shape == (5, 32) and torch.isfinite(feats).all()
    # known answer: the class token after the final norm of the same weights (4x4 grid -> 2x2), fed
    # the 28x28 resize of x scaled to [0, 1] and normalised with the ImageNet mean/std
    model = load_timm_vit("vit_base_patch14_dinov2", str(path), 28, TINY_VIT)
    x01 = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(28, 28), align_corners=False) / 255
    inp = TF.normalize(x01, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    with torch.no_grad():
        expected = model.forward_head(model.forward_features(inp), pre_logits=True)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(feats[0], feats[1])


def test_an_unloadable_file_is_one_line(tmp_path: Path, tiny_dinov2) -> None:
    junk = tmp_path / "junk.pth"
    torch.save({"blocks.0.norm1.weight": torch.zeros(3)}, junk)
    with pytest.raises(Exception) as info:
        fidelity.make_extractor(tiny_dinov2.spec(str(junk)), ["dinov2"])
    line = extractors.load_problem(tiny_dinov2, junk, info.value)
    assert line.startswith(f"cannot load {junk} as DINOv2 ViT-B/14") and "\n" not in line
    assert "dinov2_vitb14_pretrain.pth (sha256 not pinned)" in line


@pytest.mark.filterwarnings("ignore:.*torch.jit:FutureWarning")
def test_clip_path_on_a_tiny_model_of_the_same_class(tmp_path: Path) -> None:
    clip = extractors.get_extractor("clip_vitb32")
    path = tiny_clip_file(tmp_path / "tiny-clip.pt")
    assert "expected ViT-B-32.pt" in extractors.weights_problem(clip, path)  # the pinned file only
    assert extractors.weights_problem(clip, path, sha256=file_sha256(path)) is None  # a declared pin
    spec = clip.spec(str(path))
    assert (spec.name, spec.feature_layer) == ("clip-vit-b-32", "clip")
    ext = fidelity.make_extractor(spec, ["clip"])
    feats = fidelity.extract(ext, images(4, 1))["clip"]
    assert ext.resolution == 16 and feats.shape == (4, 8) and torch.isfinite(feats).all()
    assert torch.equal(feats, fidelity.extract(ext, images(4, 1))["clip"])
    assert not torch.allclose(feats[0], feats[1])


def test_input_protocols_and_specs_carry_the_entry_fields() -> None:
    classifier = extractors.get_extractor("domain_classifier")
    assert classifier.input_protocol() == {
        "value_range": "float, data range",
        "channels": "native",
        "resize": "none (native resolution)",
        "normalisation": "none",
    }
    assert extractors.get_extractor("tiny").input_protocol()["value_range"] == extractors.UINT8_RGB
    assert classifier.spec("c.pt").input == "float" and classifier.spec(None).weights_path is None
    dino = extractors.get_extractor("dinov2_vitb14")
    assert dino.spec("d.pth").resizer == f"{dino.resizer}; ImageNet mean/std"  # normalisation appended


def test_the_dinov2_entries_are_the_documented_ones() -> None:
    built = extractors._vit("dinov2_vitl14", "ViT-L/14", "vit_large_patch14_dinov2", 1024)
    assert built == extractors.get_extractor("dinov2_vitl14")
    assert built.key == "dinov2_vitl14" and built.fidelity_name == "genexp-timm-vit"
    assert built.label == "DINOv2 ViT-L/14 (timm vit_large_patch14_dinov2, class token 1024-d)"
    assert (built.feature_layer, built.normalisation) == ("dinov2", "ImageNet mean/std")
    assert (
        built.resizer
        == f"{extractors.TF1_BILINEAR} to 224x224 (position embeddings resampled bicubic by timm)"
    )
    assert built.weights_file == "dinov2_vitl14_pretrain.pth" and built.sha256 is None
    assert "dinov2_vitl14_pretrain.pth" in built.source and "vit_large_patch14_dinov2" in built.source
    assert built.requires == ("timm",) and built.needs_weights
    assert dict(built.options) == {"timm_model": "vit_large_patch14_dinov2", "image_size": 224}


def test_register_and_messages_with_a_declared_sha256(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(extractors, "REGISTRY", dict(extractors.REGISTRY))
    seen: list = []
    entry = extractors.register_extractor(
        dataclasses.replace(
            extractors.get_extractor("tiny"),
            key="checked",
            weights_file="w.bin",
            check=lambda p: seen.append(p) or f"checked {p}",
        )
    )
    assert extractors.get_extractor("checked") is entry
    assert extractors.expected(extractors.get_extractor("tiny")) == "a weights file (sha256 not pinned)"
    pin = "cd" * 32
    assert extractors.weights_problem(entry, None) == (
        "no weights file for extractor 'checked': set metric.<name>.weights_path to w.bin (sha256 not pinned)"
    )
    assert f"w.bin (sha256 {pin})" in extractors.weights_problem(entry, None, sha256=pin)
    assert f"expected w.bin (sha256 {pin})" in extractors.weights_problem(
        entry, tmp_path / "absent", sha256=pin
    )
    real = tmp_path / "w.bin"
    real.write_bytes(b"w")
    assert extractors.weights_problem(entry, real) == f"checked {real}" and seen == [str(real)]
    line = extractors.load_problem(entry, real, ValueError("first line\nsecond line"), sha256=pin)
    assert f"(ValueError: first line); expected w.bin (sha256 {pin})" in line
    long = extractors.load_problem(entry, real, OSError("x" * 300))
    assert "(OSError: " + "x" * 200 + ")" in long


def test_a_missing_package_message_shows_a_declared_sha256(tmp_path: Path, monkeypatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "timm" else real_find_spec(n, *a)
    )
    pin = "ef" * 32
    problem = extractors.weights_problem(
        extractors.get_extractor("dinov2_vitb14"), tmp_path / "x", sha256=pin
    )
    assert f"dinov2_vitb14_pretrain.pth (sha256 {pin})" in problem

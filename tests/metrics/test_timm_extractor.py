"""genexp.metrics.timm_extractor on a tiny DINOv2-class ViT: the extractor's defaults, frozen
weights and input checks, the strict load, and the position embeddings resampled bicubic without
antialiasing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers.tiny_extractors import TINY_VIT, tiny_dinov2_file

pytest.importorskip("timm")

from genexp.metrics.timm_extractor import TimmViTExtractor, load_timm_vit  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dinov2_file(tmp_path_factory.mktemp("timm") / "dinov2_tiny_pretrain.pth")


def test_defaults_frozen_weights_and_static_answers(weights: Path) -> None:
    ext = TimmViTExtractor("t", ["dinov2"], str(weights), model_kwargs=TINY_VIT)
    assert ext.image_size == 224 and ext.model.patch_embed.img_size == (224, 224)
    assert ext.model.pretrained_cfg["architecture"] == "vit_base_patch14_dinov2"
    assert ext.model.num_classes == 0
    assert not any(p.requires_grad for p in ext.parameters()) and not ext.training
    assert ext.get_default_feature_layer_for_metric("fid") == "dinov2"
    assert ext.get_provided_features_list() == ("dinov2",) and ext.can_be_compiled() is False
    dummy = ext.get_dummy_input_for_compile()
    assert dummy.shape == (1, 3, 4, 4) and dummy.dtype == torch.uint8
    with pytest.raises(ValueError, match="^t needs feature_extractor_weights_path"):
        TimmViTExtractor("t", ["dinov2"], None)


def test_forward_accepts_uint8_rgb_only(weights: Path) -> None:
    ext = TimmViTExtractor("t", ["dinov2"], str(weights), image_size=28, model_kwargs=TINY_VIT)
    bad = {
        "float": torch.zeros(2, 3, 8, 8),
        "grey": torch.zeros(2, 1, 8, 8, dtype=torch.uint8),
        "3-d": torch.zeros(3, 8, 8, dtype=torch.uint8),
    }
    for x in bad.values():
        with pytest.raises(ValueError, match=r"^expected uint8 images \(n, 3, H, W\), got "):
            ext(x)
    with pytest.raises(ValueError, match=r"got torch.uint8 \(2, 1, 8, 8\)$"):
        ext(bad["grey"])
    assert ext(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))[0].shape == (2, 32)


def test_the_load_is_strict_and_rejects_non_dicts(weights: Path, tmp_path: Path) -> None:
    state = torch.load(weights, weights_only=True)
    del state["norm.weight"]
    partial = tmp_path / "partial.pth"
    torch.save(state, partial)
    with pytest.raises(RuntimeError, match="norm.weight"):
        load_timm_vit("vit_base_patch14_dinov2", str(partial), 28, TINY_VIT)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(2), tensor)
    with pytest.raises(TypeError, match=f"^{tensor} holds a Tensor, not a state dict$"):
        load_timm_vit("vit_base_patch14_dinov2", str(tensor), 28, TINY_VIT)


def test_position_embeddings_are_resampled_bicubic_without_antialiasing(weights: Path) -> None:
    model = load_timm_vit("vit_base_patch14_dinov2", str(weights), 28, TINY_VIT)  # 4x4 grid -> 2x2
    prefix = model.num_prefix_tokens
    saved = torch.load(weights, weights_only=True)["pos_embed"]
    grid = saved[:, prefix:].reshape(1, 4, 4, -1).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, size=(2, 2), mode="bicubic", antialias=False, align_corners=False)
    got = model.pos_embed.detach()[:, prefix:].reshape(1, 2, 2, -1).permute(0, 3, 1, 2)
    torch.testing.assert_close(got, expected)
    smoothed = F.interpolate(grid, size=(2, 2), mode="bicubic", antialias=True, align_corners=False)
    assert not torch.allclose(got, smoothed, atol=1e-4)

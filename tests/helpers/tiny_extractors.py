"""Tiny randomly initialised models of the classes behind the DINOv2 and CLIP extractors, saved in
their release formats, and a registry entry for the tiny DINOv2 (used by the extractor tests)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn
from torch_fidelity.feature_extractor_clip import CLIPVisual

from genexp.metrics import extractors

TINY_VIT = {"embed_dim": 32, "depth": 1, "num_heads": 2}


def tiny_dinov2_entry(image_size: int = 28) -> extractors.Extractor:
    """The ``dinov2_vitb14`` entry with a tiny model of the same timm class (key ``dinov2_tiny``)."""
    options = {"timm_model": "vit_base_patch14_dinov2", "image_size": image_size, "model_kwargs": TINY_VIT}
    return dataclasses.replace(extractors.get_extractor("dinov2_vitb14"), key="dinov2_tiny", options=options)


def tiny_dinov2_file(path: Path, img_size: int = 56, seed: int = 0) -> Path:
    """A random DINOv2-class ViT in DINOv2's release format (with ``mask_token``; a 4x4 patch grid
    at the default 56 px). Layer-scale gammas are set to 1: at their 1e-5 initial value the class
    token would hardly depend on the image."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model(
        "vit_base_patch14_dinov2", pretrained=False, num_classes=0, img_size=img_size, **TINY_VIT
    )
    state = {k: torch.ones_like(v) if k.endswith(".gamma") else v for k, v in model.state_dict().items()}
    state["mask_token"] = torch.zeros(1, TINY_VIT["embed_dim"])
    torch.save(state, path)
    return path


def tiny_clip_file(path: Path, seed: int = 0) -> Path:
    """A random CLIP ViT image tower (width 64, 1 layer, 8-px patches, 16-px input, 8-d embedding)
    as a TorchScript archive, the format of OpenAI's release files."""

    class TinyCLIP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = CLIPVisual(8, 16, 1, 64, 8).visual
            self.text_projection = nn.Parameter(torch.randn(4, 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    torch.manual_seed(seed)
    torch.jit.save(torch.jit.script(TinyCLIP()), str(path))
    return path

"""A torch-fidelity feature extractor around a timm Vision Transformer built without downloading
anything and loaded from a user-supplied weights file (DINOv2's ``dinov2_vit*14_pretrain.pth``,
or a timm state dict of the same model).

Input protocol, as torch-fidelity's own DINOv2 extractor: uint8 RGB images, resized with
``interpolate_bilinear_2d_like_tensorflow1x`` to ``image_size`` x ``image_size``, normalised with
the ImageNet mean/std; features: the class token after the final norm (``'dinov2'``). The model
is created for ``image_size``; the file's position embeddings are resampled to that grid by timm's
checkpoint filter (bicubic, no antialiasing), which also converts DINOv2's release format.
timm is an optional dependency (``pip install 'genexp[extractors]'``), imported here only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torchvision.transforms.functional as TF
from torch import Tensor
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from genexp.metrics.fidelity import register

TIMM_VIT = "genexp-timm-vit"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_timm_vit(
    timm_model: str, weights_path: str, image_size: int, model_kwargs: Mapping[str, Any] | None = None
) -> torch.nn.Module:
    """``timm.create_model(timm_model, pretrained=False, num_classes=0, img_size=image_size)`` with
    the weights of ``weights_path`` loaded strictly (after timm's checkpoint filter)."""
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn

    model = timm.create_model(
        timm_model, pretrained=False, num_classes=0, img_size=int(image_size), **dict(model_kwargs or {})
    )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise TypeError(f"{weights_path} holds a {type(state).__name__}, not a state dict")
    model.load_state_dict(checkpoint_filter_fn(dict(state), model, antialias=False), strict=True)
    return model.eval()


class TimmViTExtractor(FeatureExtractorBase):
    """torch-fidelity view of :func:`load_timm_vit`; feature ``'dinov2'`` (the normed class token)."""

    def __init__(
        self,
        name: str,
        features_list: Sequence[str],
        feature_extractor_weights_path: str | None = None,
        timm_model: str = "vit_base_patch14_dinov2",
        image_size: int = 224,
        model_kwargs: Mapping[str, Any] | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, list(features_list))
        if not feature_extractor_weights_path:
            raise ValueError(f"{name} needs feature_extractor_weights_path (no weights are downloaded)")
        self.model = load_timm_vit(timm_model, feature_extractor_weights_path, image_size, model_kwargs)
        self.image_size = int(image_size)
        self.mean = tuple(255 * float(m) for m in mean)
        self.std = tuple(255 * float(s) for s in std)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """uint8 ``(n, 3, H, W)`` -> requested features."""
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected uint8 images (n, 3, H, W), got {x.dtype} {tuple(x.shape)}")
        size = (self.image_size, self.image_size)
        x = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=size, align_corners=False)
        x = TF.normalize(x, self.mean, self.std)
        out = {"dinov2": self.model(x).float()}
        return tuple(out[k] for k in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        """``('dinov2',)``."""
        return ("dinov2",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        """Every metric reads ``'dinov2'``."""
        return "dinov2"

    @staticmethod
    def can_be_compiled() -> bool:
        """Not compiled by genexp."""
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        """A 1x3x4x4 uint8 image."""
        return torch.zeros(1, 3, 4, 4, dtype=torch.uint8)


register(TIMM_VIT, TimmViTExtractor)

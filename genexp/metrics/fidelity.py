"""torch-fidelity wrapper: feature extractors, image preparation, FID/KID/PR/IS from features,
Inception weight checks and the on-disk cache of real-data features.

Features are extracted by genexp (batched, sharded across DDP ranks by the callbacks) with
extractors created through torch-fidelity's registry; the scores come from torch-fidelity's
feature-level functions (KID, precision/recall, IS) and :mod:`genexp.metrics.frechet` (FID).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torch_fidelity.utils import create_feature_extractor

from genexp.metrics.fd_infinity import fd_infinity
from genexp.metrics.frechet import frechet_distance, gaussian_fit
from genexp.metrics.prdc import precision_recall_density_coverage

INCEPTION = "genexp-inception-v3-compat"
TINY = "genexp-tiny"
INCEPTION_RESIZER = "torch-fidelity interpolate_bilinear_2d_like_tensorflow1x to 299x299"


def register(name: str, cls: type) -> None:
    """Register a feature extractor class with torch-fidelity once (idempotent)."""
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(name, cls)


class OfflineInceptionV3(FeatureExtractorInceptionV3):
    """torch-fidelity's FID Inception (TF-2015 graph, pool3 = feature ``'2048'``) from a local file.

    Identical network; the only difference is that a state dict without the ``fc`` layer is
    accepted (``fc`` becomes zero), as converted offline weights may lack it. With a zero ``fc``
    the logits carry no information, so IS must not be computed (see :func:`weights_have_logits`).
    """

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False) -> Any:
        """Fill a missing ``fc`` with zeros, then load strictly."""
        state_dict = dict(state_dict)
        state_dict.setdefault("fc.weight", torch.zeros_like(self.fc.weight))
        state_dict.setdefault("fc.bias", torch.zeros_like(self.fc.bias))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


class FeaturesLogitsExtractor(FeatureExtractorBase):
    """torch-fidelity extractor base for small nets that provide ``features`` and ``logits``:
    FID/KID/PR read ``features``, IS reads ``logits``; never compiled."""

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        """``('features', 'logits')``."""
        return ("features", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        """``logits`` for IS, ``features`` otherwise."""
        return "logits" if metric == "isc" else "features"

    @staticmethod
    def can_be_compiled() -> bool:
        """Small nets are not worth compiling."""
        return False


class TinyFeatureExtractor(FeaturesLogitsExtractor):
    """A fixed random 2-layer feature map on 4x4-pooled uint8 RGB images, for fast tests.

    Features: ``'features'`` (16-d) and ``'logits'`` (10-d). Weights are drawn from a fixed seed
    unless ``feature_extractor_weights_path`` names a state dict.
    """

    def __init__(
        self,
        name: str,
        features_list: Sequence[str],
        feature_extractor_weights_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, list(features_list))
        gen = torch.Generator().manual_seed(0)
        self.hidden = torch.nn.Linear(48, 16)
        self.head = torch.nn.Linear(16, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        if feature_extractor_weights_path:
            self.load_state_dict(torch.load(feature_extractor_weights_path, map_location="cpu"))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        """A 1x3x8x8 uint8 image."""
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """uint8 ``(n, 3, H, W)`` -> requested features."""
        h = F.adaptive_avg_pool2d(x.float() / 255.0, 4).flatten(1)
        feats = torch.tanh(self.hidden(h))
        out = {"features": feats, "logits": self.head(feats)}
        return tuple(out[k] for k in self.features_list)


register(INCEPTION, OfflineInceptionV3)
register(TINY, TinyFeatureExtractor)


@dataclass
class ExtractorSpec:
    """What a feature extractor needs and produces.

    ``name``: its torch-fidelity registry name; ``feature_layer``: the layer FID/KID/PR use;
    ``logits_layer``: the layer IS uses (None: no IS); ``input``: ``"uint8_rgb"`` (images mapped
    from the data's value range to 0..255 RGB) or ``"float"`` (data as the model produces it);
    ``weights_path``; ``resizer``: how inputs are resized, for the protocol; ``extra``: options
    passed to the extractor's class (see :mod:`genexp.metrics.extractors`).
    """

    name: str
    feature_layer: str
    logits_layer: str | None = None
    input: str = "uint8_rgb"
    weights_path: str | None = None
    resizer: str = "none"
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def layers(self, with_logits: bool) -> list[str]:
        """The layers to extract."""
        out = [self.feature_layer]
        if with_logits and self.logits_layer and self.logits_layer not in out:
            out.append(self.logits_layer)
        return out


def inception_spec(weights_path: str | None) -> ExtractorSpec:
    """The FID Inception network of torch-fidelity with pool3 features and unbiased logits."""
    return ExtractorSpec(
        name=INCEPTION,
        feature_layer="2048",
        logits_layer="logits_unbiased",
        input="uint8_rgb",
        weights_path=str(weights_path) if weights_path else None,
        resizer=INCEPTION_RESIZER,
        label="inception-v3-compat (torch-fidelity FeatureExtractorInceptionV3, pool3 2048-d)",
    )


def tiny_spec() -> ExtractorSpec:
    """The test extractor (:class:`TinyFeatureExtractor`)."""
    return ExtractorSpec(
        name=TINY,
        feature_layer="features",
        logits_layer="logits",
        resizer="avg-pool 4x4",
        label="genexp-tiny (test extractor)",
    )


def make_extractor(
    spec: ExtractorSpec, layers: Sequence[str], device: torch.device | str = "cpu"
) -> FeatureExtractorBase:
    """Instantiate a registered extractor through torch-fidelity, on ``device``."""
    extractor = create_feature_extractor(
        spec.name,
        list(layers),
        cuda=False,
        feature_extractor_weights_path=spec.weights_path,
        verbose=False,
        **spec.extra,  # the class's own options (e.g. the timm model of a ViT extractor)
    )
    return extractor.to(device)


def to_uint8_rgb(x: Tensor, value_range: Sequence[float] | None) -> Tensor:
    """Images ``(n, C, H, W)`` in ``value_range`` -> uint8 RGB (grey replicated; clamped, rounded)."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images (n, 1|3, H, W), got {tuple(x.shape)}")
    lo, hi = value_range if value_range is not None else (0.0, 1.0)
    x = ((x.float() - lo) / (hi - lo) * 255.0).clamp(0, 255).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x


@torch.no_grad()
def extract(extractor: FeatureExtractorBase, x: Tensor) -> dict[str, Tensor]:
    """Run an extractor on one prepared batch; returns ``{layer: (n, d) float tensor}``."""
    return {k: v.float() for k, v in extractor.convert_features_tuple_to_dict(extractor(x)).items()}


# -- weights ----------------------------------------------------------------------------------


def fidelity_scores(
    generated: dict[str, Tensor],
    reference: dict[str, Tensor],
    spec: ExtractorSpec,
    metrics: Iterable[str],
    seed: int = 0,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    prc_neighborhood: int = 3,
    isc_splits: int = 10,
    dc_neighborhood: int = 5,
    fd_inf_points: int = 5,
    fd_inf_min_fraction: float = 0.1,
) -> dict[str, Any]:
    """FID (``fid``), KID (``kid``, ``kid_std``), precision/recall (``precision``, ``recall``,
    ``f_score``), IS (``is``, ``is_std``), precision/recall/density/coverage from one set of k-NN
    balls (``prdc``: ``precision``, ``recall``, k = ``prc_neighborhood``; ``density``,
    ``coverage``, k = ``dc_neighborhood``) and FD∞ (``fd_inf``: ``fid_inf``, ``fid_inf_slope``,
    ``fid_inf_points``) from feature dicts, as listed in ``metrics`` (names ``fid``, ``kid``,
    ``prd``, ``is``, ``prdc``, ``fd_inf``). Generated features are torch-fidelity's input 1."""
    metrics = set(metrics)
    gen, ref = generated[spec.feature_layer].double(), reference[spec.feature_layer].double()
    out: dict[str, Any] = {}
    if "fid" in metrics:
        out["fid"] = frechet_distance(*gaussian_fit(gen), *gaussian_fit(ref))
    if "kid" in metrics:
        size = min(kid_subset_size, len(gen), len(ref))
        kid = kid_features_to_metric(
            gen, ref, kid_subsets=kid_subsets, kid_subset_size=size, rng_seed=seed, verbose=False
        )
        out["kid"], out["kid_std"] = (
            kid["kernel_inception_distance_mean"],
            kid["kernel_inception_distance_std"],
        )
    if "prd" in metrics:
        prc = prc_features_to_metric(
            gen.float(),
            ref.float(),
            prc_neighborhood=prc_neighborhood,
            save_cpu_ram=len(gen) + len(ref) > 20000,
            verbose=False,
        )
        out["precision"], out["recall"], out["f_score"] = prc["precision"], prc["recall"], prc["f_score"]
    if "prdc" in metrics:
        out.update(precision_recall_density_coverage(ref, gen, prc_neighborhood, dc_neighborhood))
    if "fd_inf" in metrics:
        out.update(fd_infinity(gen, ref, fd_inf_points, fd_inf_min_fraction, seed=seed))
    if "is" in metrics:
        if not spec.logits_layer or spec.logits_layer not in generated:
            raise ValueError(f"IS needs the logits layer of {spec.name}")
        isc = isc_features_to_metric(
            generated[spec.logits_layer], splits=isc_splits, shuffle=True, rng_seed=seed
        )
        out["is"], out["is_std"] = isc["inception_score_mean"], isc["inception_score_std"]
    return out


# -- cache of real-data features ------------------------------------------------------------

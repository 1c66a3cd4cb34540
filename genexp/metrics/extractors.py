"""The feature-extractor registry: one place that maps an extractor name (``metric.<name>.extractor``)
to its builder (a torch-fidelity extractor class), its input protocol (resize, value range,
channels, normalisation), its feature layer, and the weights file it needs with its sha256.

=================  ==============================================  ==========================
name               network, feature layer                          weights file (sha256)
=================  ==============================================  ==========================
inception          torch-fidelity FID Inception-v3, pool3 2048-d   the offline file of ``make
                                                                   assets`` (not pinned: also
                                                                   torch-fidelity's own file)
domain_classifier  genexp's classifier of the dataset, pre-logit   trained and cached by genexp
dinov2_vitb14      DINOv2 ViT-B/14 (timm), class token 768-d       dinov2_vitb14_pretrain.pth
dinov2_vitl14      DINOv2 ViT-L/14 (timm), class token 1024-d      dinov2_vitl14_pretrain.pth
clip_vitb32        CLIP ViT-B/32 image tower (torch-fidelity),     ViT-B-32.pt (pinned: the
                   image embedding 512-d                           sha256 OpenAI publishes)
tiny               a fixed random net (tests only)                 none
=================  ==============================================  ==========================

The weights of DINOv2 and CLIP come from the user (nothing is downloaded): a missing file, or one
whose sha256 differs from the expected one (the registry's, or ``weights_sha256`` the user
declares), or that does not load, makes the metric skip with one line naming the file expected
and its sha256 (:func:`weights_problem`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch_fidelity.feature_extractor_clip import MODEL_METADATA as CLIP_FILES

from genexp.metrics import fidelity, timm_extractor
from genexp.metrics.domain_classifier import EXTRACTOR_NAME as CLASSIFIER_NAME
from genexp.metrics.fidelity import ExtractorSpec
from genexp.metrics.weight_files import file_sha256, inception_weights_problem

UINT8_RGB = "uint8 RGB from the data range (grey replicated)"
TF1_BILINEAR = "torch-fidelity interpolate_bilinear_2d_like_tensorflow1x"


@dataclass(frozen=True)
class Extractor:
    """One registered extractor.

    ``fidelity_name``: the torch-fidelity registry name of its class; ``options``: extra arguments
    of that class; ``input``: how genexp hands images over (``uint8_rgb`` | ``float``, see
    :class:`ExtractorSpec`); ``weights_file``: the file expected (in ``paths.assets_dir``);
    ``sha256``: its pinned sha256 (None: any file that loads; the user may pin one);
    ``source``: where to get it; ``requires``: Python packages it needs (imported lazily);
    ``check``: a cheap structural check of the file; ``trained_by_genexp``: the weights are a
    genexp-trained classifier (no file to supply); ``tag``: suffix of its metric keys.
    """

    key: str
    label: str
    fidelity_name: str
    feature_layer: str
    resizer: str
    normalisation: str
    input: str = "uint8_rgb"
    channels: str = "3 (grey replicated)"
    weights_file: str | None = None
    sha256: str | None = None
    source: str = ""
    requires: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    logits_layer: str | None = None
    check: Callable[[str], str | None] | None = None
    trained_by_genexp: bool = False
    tag: str | None = None

    @property
    def needs_weights(self) -> bool:
        """True when the user must supply a weights file (not for built-in or genexp-trained nets)."""
        return self.weights_file is not None and not self.trained_by_genexp

    @property
    def key_tag(self) -> str:
        """The suffix of this extractor's metric keys (``density<tag>``): ``_<key>`` unless set."""
        return f"_{self.key}" if self.tag is None else self.tag

    def input_protocol(self) -> dict[str, Any]:
        """What the extractor is fed: value range, channels, resize and normalisation."""
        value_range = UINT8_RGB if self.input == "uint8_rgb" else "float, data range"
        return {
            "value_range": value_range,
            "channels": self.channels,
            "resize": self.resizer,
            "normalisation": self.normalisation,
        }

    def spec(self, weights_path: str | None) -> ExtractorSpec:
        """The :class:`ExtractorSpec` of this extractor with the weights at ``weights_path``."""
        if self.fidelity_name == fidelity.INCEPTION:
            return fidelity.inception_spec(weights_path)
        return ExtractorSpec(
            name=self.fidelity_name,
            feature_layer=self.feature_layer,
            logits_layer=self.logits_layer,
            input=self.input,
            weights_path=str(weights_path) if weights_path else None,
            resizer=f"{self.resizer}; {self.normalisation}" if self.normalisation else self.resizer,
            label=self.label,
            extra=dict(self.options),
        )


REGISTRY: dict[str, Extractor] = {}


def register_extractor(entry: Extractor) -> Extractor:
    """Add (or replace) ``entry`` under ``entry.key``."""
    REGISTRY[entry.key] = entry
    return entry


def get_extractor(name: str) -> Extractor:
    """The entry called ``name``; an unknown name is a ValueError listing the registered ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown feature extractor {name!r}; choose from {sorted(REGISTRY)}")
    return REGISTRY[name]


def expected(entry: Extractor, sha256: str | None = None) -> str:
    """``'<file> (sha256 <hex>)'``: the weights file an extractor expects, for messages."""
    pinned = sha256 or entry.sha256
    return f"{entry.weights_file or 'a weights file'} (sha256 {pinned or 'not pinned'})"


def weights_problem(
    entry: Extractor, path: str | Path | None, sha256: str | None = None, name: str = "<name>"
) -> str | None:
    """Why ``entry`` cannot run with the weights at ``path`` (one line naming the file expected and
    its sha256), or None. ``sha256`` is a user-declared pin (it replaces the registry's)."""
    for module in entry.requires:
        if importlib.util.find_spec(module) is None:
            return (
                f"extractor {entry.key!r} needs the Python package {module!r} "
                f"(pip install 'genexp[extractors]'); it expects {expected(entry, sha256)}"
            )
    if not path:
        want = expected(entry, sha256)
        return f"no weights file for extractor {entry.key!r}: set metric.{name}.weights_path to {want}"
    if not Path(path).is_file():
        return f"{entry.key} weights not found at {path}: expected {expected(entry, sha256)}; {entry.source}"
    pinned = sha256 or entry.sha256
    if pinned and file_sha256(path) != pinned.lower():
        return (
            f"{path} has sha256 {file_sha256(path)}, expected {expected(entry, sha256)}; "
            f"{entry.source}, or declare your file with metric.{name}.weights_sha256"
        )
    return entry.check(str(path)) if entry.check is not None else None


def load_problem(entry: Extractor, path: str | Path | None, err: Exception, sha256: str | None = None) -> str:
    """The one line for weights that pass the checks but do not build the extractor."""
    return (
        f"cannot load {path} as {entry.label} ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
        f"expected {expected(entry, sha256)}; {entry.source}"
    )


def _vit(key: str, what: str, timm_model: str, dim: int) -> Extractor:
    return Extractor(
        key=key,
        label=f"DINOv2 {what} (timm {timm_model}, class token {dim}-d)",
        fidelity_name=timm_extractor.TIMM_VIT,
        feature_layer="dinov2",
        resizer=f"{TF1_BILINEAR} to 224x224 (position embeddings resampled bicubic by timm)",
        normalisation="ImageNet mean/std",
        weights_file=f"{key}_pretrain.pth",
        source=f"put DINOv2's {key}_pretrain.pth (the official release, or a timm state dict of "
        f"{timm_model}) in paths.assets_dir",
        requires=("timm",),
        options={"timm_model": timm_model, "image_size": 224},
    )


CLIP_B32 = CLIP_FILES["clip-vit-b-32"]

for _entry in (
    Extractor(
        key="inception",
        label=fidelity.inception_spec(None).label,
        fidelity_name=fidelity.INCEPTION,
        feature_layer="2048",
        resizer=fidelity.INCEPTION_RESIZER,
        normalisation="inside the network (TF-2015 graph: (x - 128) / 128)",
        weights_file="pt_inception-2015-12-05-6726825d.pth",
        source="run `make assets` (scripts/prepare_assets.py) to create it",
        logits_layer="logits_unbiased",
        check=inception_weights_problem,
        tag="",
    ),
    Extractor(
        key="domain_classifier",
        label="genexp domain classifier (pre-logit features)",
        fidelity_name=CLASSIFIER_NAME,
        feature_layer="features",
        resizer="none (native resolution)",
        normalisation="none",
        input="float",
        channels="native",
        source="trained by genexp on the dataset's labelled train split and cached",
        logits_layer="logits",
        trained_by_genexp=True,
        tag="_classifier",
    ),
    _vit("dinov2_vitb14", "ViT-B/14", "vit_base_patch14_dinov2", 768),
    _vit("dinov2_vitl14", "ViT-L/14", "vit_large_patch14_dinov2", 1024),
    Extractor(
        key="clip_vitb32",
        label="CLIP ViT-B/32 image tower (torch-fidelity FeatureExtractorCLIP, image embedding 512-d)",
        fidelity_name="clip-vit-b-32",
        feature_layer="clip",
        resizer=f"{TF1_BILINEAR} to the file's input resolution (ViT-B/32: 224x224)",
        normalisation="CLIP mean/std",
        weights_file=f"{CLIP_B32['filename']}.pt",
        sha256=CLIP_B32["hash"],
        source="put OpenAI's ViT-B-32.pt (the TorchScript file of the CLIP release) in paths.assets_dir",
    ),
    Extractor(
        key="tiny",
        label=fidelity.tiny_spec().label,
        fidelity_name=fidelity.TINY,
        feature_layer="features",
        resizer="avg-pool 4x4",
        normalisation="",
        logits_layer="logits",
        source="built in (no file)",
    ),
):
    register_extractor(_entry)

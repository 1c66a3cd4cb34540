"""genexp.metrics.fidelity beyond torch-fidelity's own pipeline: the arguments and defaults that
fidelity_scores passes on, the Inception spec, the layers to extract, uint8 conversion, the
registry and the test extractor's weight file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from genexp.metrics import fidelity
from genexp.metrics.fd_infinity import fd_infinity
from genexp.metrics.prdc import precision_recall_density_coverage

SPEC = fidelity.tiny_spec()


def features(n: int, seed: int, shift: float = 0.0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "features": torch.randn(n, 6, generator=gen, dtype=torch.float64) + shift,
        "logits": 2 * torch.randn(n, 5, generator=gen, dtype=torch.float64),
    }


GEN, REF = features(120, 0, 0.5), features(160, 1)


def test_defaults_are_the_papers_and_torch_fidelitys() -> None:
    """KID 100 subsets of <= 1000, IS 10 splits, PRDC k = 3 / 5, FD-inf 5 points down to 10 %, seed 0."""
    out = fidelity.fidelity_scores(GEN, REF, SPEC, ["kid", "is", "prdc", "fd_inf"])
    g, r = GEN["features"], REF["features"]
    kid = kid_features_to_metric(g, r, kid_subsets=100, kid_subset_size=120, rng_seed=0, verbose=False)
    assert (out["kid"], out["kid_std"]) == (
        kid["kernel_inception_distance_mean"],
        kid["kernel_inception_distance_std"],
    )
    isc = isc_features_to_metric(GEN["logits"], splits=10, shuffle=True, rng_seed=0)
    assert (out["is"], out["is_std"]) == (isc["inception_score_mean"], isc["inception_score_std"])
    assert {k: out[k] for k in ("precision", "recall", "density", "coverage")} == (
        precision_recall_density_coverage(r, g, 3, 5)
    )
    assert {k: out[k] for k in ("fid_inf", "fid_inf_slope", "fid_inf_points")} == fd_infinity(
        g, r, 5, 0.1, seed=0
    )


def test_options_reach_every_score() -> None:
    opts = dict(
        seed=3, kid_subsets=7, kid_subset_size=50, prc_neighborhood=2, isc_splits=4, dc_neighborhood=4
    )
    out = fidelity.fidelity_scores(
        GEN, REF, SPEC, ["kid", "is", "prdc", "fd_inf"], fd_inf_points=4, fd_inf_min_fraction=0.3, **opts
    )
    g, r = GEN["features"], REF["features"]
    kid = kid_features_to_metric(g, r, kid_subsets=7, kid_subset_size=50, rng_seed=3, verbose=False)
    assert out["kid"] == kid["kernel_inception_distance_mean"]
    assert (
        out["is"]
        == isc_features_to_metric(GEN["logits"], splits=4, shuffle=True, rng_seed=3)["inception_score_mean"]
    )
    prdc = precision_recall_density_coverage(r, g, 2, 4)
    assert {k: out[k] for k in prdc} == prdc and prdc != precision_recall_density_coverage(r, g, 3, 5)
    prd = fidelity.fidelity_scores(GEN, REF, SPEC, ["prd"], prc_neighborhood=2)
    assert (
        prd["recall"]
        == prc_features_to_metric(g.float(), r.float(), prc_neighborhood=2, verbose=False)["recall"]
    )
    assert prd["recall"] != fidelity.fidelity_scores(GEN, REF, SPEC, ["prd"])["recall"]
    fd_inf = fd_infinity(g, r, 4, 0.3, seed=3)
    assert out["fid_inf_points"] == fd_inf["fid_inf_points"] and len(fd_inf["fid_inf_points"]) == 4


@pytest.mark.parametrize("smaller", ["generated", "reference"])
def test_kid_subsets_shrink_to_the_smaller_set(smaller: str) -> None:
    few, many = features(40, 2), features(90, 3)
    gen, ref = (few, many) if smaller == "generated" else (many, few)
    out = fidelity.fidelity_scores(gen, ref, SPEC, ["kid"], kid_subsets=5)
    kid = kid_features_to_metric(
        gen["features"], ref["features"], kid_subsets=5, kid_subset_size=40, rng_seed=0, verbose=False
    )
    assert out["kid"] == kid["kernel_inception_distance_mean"]


def test_kid_subsets_hold_at_most_1000_by_default() -> None:
    big_gen, big_ref = features(1001, 4, 0.2), features(1001, 5)
    out = fidelity.fidelity_scores(big_gen, big_ref, SPEC, ["kid"], kid_subsets=2)
    kid = kid_features_to_metric(
        big_gen["features"],
        big_ref["features"],
        kid_subsets=2,
        kid_subset_size=1000,
        rng_seed=0,
        verbose=False,
    )
    assert out["kid"] == kid["kernel_inception_distance_mean"]


def test_extractor_is_placed_on_the_given_device() -> None:
    extractor = fidelity.make_extractor(SPEC, ["features"], device="meta")
    assert {p.device.type for p in extractor.parameters()} == {"meta"}


def test_only_the_requested_scores_with_their_names() -> None:
    assert set(fidelity.fidelity_scores(GEN, REF, SPEC, ["fid"])) == {"fid"}
    assert set(fidelity.fidelity_scores(GEN, REF, SPEC, ["prd", "is"])) == {
        "precision",
        "recall",
        "f_score",
        "is",
        "is_std",
    }
    with pytest.raises(ValueError, match="IS needs the logits layer of genexp-tiny"):
        fidelity.fidelity_scores({"features": GEN["features"]}, REF, SPEC, ["is"])


def test_inception_spec_and_layers(tmp_path: Path) -> None:
    spec = fidelity.inception_spec(tmp_path / "w.pth")
    assert (spec.name, spec.feature_layer, spec.logits_layer, spec.input) == (
        fidelity.INCEPTION,
        "2048",
        "logits_unbiased",
        "uint8_rgb",
    )
    assert spec.weights_path == str(tmp_path / "w.pth") and spec.resizer == fidelity.INCEPTION_RESIZER
    assert "inception-v3-compat" in spec.label and fidelity.inception_spec(None).weights_path is None
    assert spec.layers(True) == ["2048", "logits_unbiased"] and spec.layers(False) == ["2048"]
    assert fidelity.ExtractorSpec("x", "features").layers(True) == ["features"]
    assert fidelity.ExtractorSpec("x", "f", logits_layer="f").layers(True) == ["f"]


def test_uint8_conversion_inverts_k_over_255_and_clamps() -> None:
    k = torch.arange(256.0)
    out = fidelity.to_uint8_rgb((k / 255).reshape(256, 1, 1, 1), None)  # default range [0, 1]
    assert torch.equal(out[:, 0, 0, 0], k.to(torch.uint8))
    assert fidelity.to_uint8_rgb(torch.tensor([-3.0, 7.0]).reshape(2, 1, 1, 1), (0, 1))[
        :, 0, 0, 0
    ].tolist() == [0, 255]
    with pytest.raises(ValueError, match=r"expected images \(n, 1\|3, H, W\), got \(2, 4, 3, 3\)"):
        fidelity.to_uint8_rgb(torch.zeros(2, 4, 3, 3), (0, 1))


def test_register_is_idempotent() -> None:
    name = "genexp-test-register-twice"
    fidelity.register(name, fidelity.TinyFeatureExtractor)
    fidelity.register(name, fidelity.TinyFeatureExtractor)
    assert FEATURE_EXTRACTORS_REGISTRY[name] is fidelity.TinyFeatureExtractor
    del FEATURE_EXTRACTORS_REGISTRY[name]


def test_tiny_extractor_loads_a_weights_file(tmp_path: Path) -> None:
    default = fidelity.TinyFeatureExtractor(fidelity.TINY, ["features"])
    assert not any(p.requires_grad for p in default.parameters())
    state = {k: v + 1.0 for k, v in default.state_dict().items()}
    torch.save(state, tmp_path / "tiny.pt")
    loaded = fidelity.TinyFeatureExtractor(fidelity.TINY, ["features"], str(tmp_path / "tiny.pt"))
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())

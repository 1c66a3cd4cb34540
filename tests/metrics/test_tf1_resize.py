"""The separable TF1 resize equals torch-fidelity's own bit for bit, and is used only where it
applies and only inside its block."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_fidelity import feature_extractor_inceptionv3 as inception_module
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as original

from genexp.metrics import tf1_resize


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((5, 3, 28, 28), (299, 299)),
        ((2, 3, 64, 48), (299, 299)),
        ((2, 3, 400, 300), (299, 299)),
        ((3, 1, 17, 23), (50, 40)),
    ],
)
def test_separable_resize_is_bit_identical_to_torch_fidelity(shape: tuple, size: tuple) -> None:
    x = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(0)).float()
    expected = original(x, size=size, align_corners=False)
    got = tf1_resize.resize_tf1_separable(x, size)
    assert got.shape == (shape[0], shape[1], *size)
    assert torch.equal(got, expected)
    smooth = torch.rand(shape, generator=torch.Generator().manual_seed(1))  # non-integer values too
    assert torch.equal(
        tf1_resize.resize_tf1_separable(smooth, size), original(smooth, size=size, align_corners=False)
    )


def test_other_arguments_go_to_torch_fidelity() -> None:
    x = torch.rand(2, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    for kwargs in ({"size": (20, 20), "align_corners": True}, {"scale_factor": 2.0, "align_corners": False}):
        assert torch.equal(tf1_resize._resize(x, **kwargs), original(x, **kwargs))
    assert torch.equal(
        tf1_resize._resize(x, size=(20, 20), align_corners=False, method="fast"),
        original(x, size=(20, 20), align_corners=False, method="fast"),
    )


def test_fast_resize_is_installed_only_inside_the_block() -> None:
    before = inception_module.interpolate_bilinear_2d_like_tensorflow1x
    with pytest.raises(RuntimeError, match="boom"), tf1_resize.fast_tf1_resize():
        assert inception_module.interpolate_bilinear_2d_like_tensorflow1x is tf1_resize._resize
        raise RuntimeError("boom")
    assert inception_module.interpolate_bilinear_2d_like_tensorflow1x is before


WEIGHTS = Path(__file__).resolve().parents[2] / "assets" / "pt_inception-2015-12-05-6726825d.pth"


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="assets/ has no converted Inception weights (make assets)")
def test_inception_features_unchanged_by_the_fast_resize() -> None:
    from genexp.metrics import extraction, fidelity

    spec = fidelity.inception_spec(str(WEIGHTS))
    extractor = fidelity.make_extractor(spec, [spec.feature_layer])
    x = torch.randint(0, 256, (4, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        plain = fidelity.extract(extractor, x)[spec.feature_layer]  # torch-fidelity's own resize
    fast = extraction.run_batches(extractor, x, extraction.ExtractionSettings(4, False), threads=1)
    assert torch.equal(fast[spec.feature_layer], plain)

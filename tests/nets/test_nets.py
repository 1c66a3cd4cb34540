"""Net builders: output shapes for toys and 8/28/32/64 px images, arch selection, errors."""

from __future__ import annotations

import pytest
import torch

from genexp.errors import ConfigError
from genexp.nets.conv import ConvDecoder, ConvEncoder
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.mlp import MLP


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 8, 8), (2,)])
def test_auto_nets_round_trip_shapes(shape: tuple[int, ...]) -> None:
    enc = data_to_vector(shape, 10)
    dec = vector_to_data(5, shape, value_range=(-1, 1))
    x = torch.rand(4, *shape)
    assert enc(x).shape == (4, 10)
    out = dec(torch.randn(4, 5))
    assert out.shape == (4, *shape)
    assert out.abs().max() <= 1.0  # tanh for data in [-1, 1]
    conv = len(shape) == 3 and shape[1] >= 16
    assert isinstance(enc, ConvEncoder if conv else MLP)
    assert isinstance(dec, ConvDecoder if conv else MLP)


def test_sigmoid_for_unit_range_and_no_squash_for_logits() -> None:
    dec = vector_to_data(3, (1, 28, 28), value_range=(0, 1))
    assert dec(torch.randn(2, 3)).min() >= 0
    raw = vector_to_data(3, (1, 28, 28), value_range=(0, 1), squash=False)
    assert raw(torch.randn(64, 3) * 100).min() < 0


def test_conv_arch_refused_for_tiny_inputs() -> None:
    with pytest.raises(ConfigError, match="arch=mlp"):
        data_to_vector((1, 8, 8), 4, arch="conv")
    with pytest.raises(ConfigError, match="unknown net arch"):
        data_to_vector((2,), 4, arch="transformer")


def test_spectral_norm_bounds_the_discriminator_layers() -> None:
    enc = data_to_vector((2,), 1, hidden=(64,), spectral_norm=True)
    for _ in range(20):  # power iterations converge in training mode
        enc(torch.randn(16, 2))
    lin = enc.net[0]
    sigma = torch.linalg.matrix_norm(lin.weight.detach(), ord=2)
    assert sigma == pytest.approx(1.0, abs=0.05)

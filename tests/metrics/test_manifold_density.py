"""The GEN novelty score's density terms against closed forms, and the score's ordering on a
hand-built linear autoencoder."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from torch import nn

from genexp.metrics.manifold_density import (
    decoder_jacobian,
    half_log_det_gram,
    isotropic_gaussian_log_lik,
    manifold_log_density,
)
from genexp.models.deterministic_ae import DeterministicAutoencoder
from genexp.priors.normal import NormalPrior


def test_linear_decoder_log_det_is_the_closed_form() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 3, generator=gen), torch.randn(6, generator=gen)
    z = torch.randn(5, 3, generator=gen)
    jac = decoder_jacobian(lambda v: v @ a.T + b, z)
    assert jac.shape == (5, 6, 3)
    torch.testing.assert_close(jac, a.expand(5, 6, 3))
    closed = 0.5 * torch.logdet(a.double().T @ a.double())
    torch.testing.assert_close(half_log_det_gram(jac), closed.expand(5), rtol=1e-6, atol=1e-9)


def test_nonlinear_decoder_jacobian_is_the_chain_rule() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    z = torch.randn(3, 2, generator=gen, dtype=torch.float64)
    jac = decoder_jacobian(lambda v: torch.tanh(v @ a.T).view(len(v), 2, 2), z)  # image-shaped output
    expected = (1 - torch.tanh(z @ a.T) ** 2)[:, :, None] * a  # diag(1 - tanh²) A
    torch.testing.assert_close(jac, expected)
    for j, e in zip(half_log_det_gram(jac), expected):
        assert float(j) == pytest.approx(0.5 * float(torch.logdet(e.T @ e)), rel=1e-9)


def test_isotropic_gaussian_log_lik_matches_torch_normal() -> None:
    x, mean = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    ref = torch.distributions.Normal(mean.double(), math.sqrt(0.3)).log_prob(x.double()).flatten(1).sum(1)
    torch.testing.assert_close(isotropic_gaussian_log_lik(x, mean, 0.3), ref)


def linear_autoencoder(scale: float) -> DeterministicAutoencoder:
    """2-D data, 1-D code: E(x) = x_1 / scale, D(z) = (scale z, 0), so D(E(x)) = (x_1, 0)."""

    def encoder(in_shape, out_dim):
        net = nn.Linear(2, 1, bias=False)
        net.weight.data = torch.tensor([[1.0 / scale, 0.0]])
        return net

    def decoder(in_dim, out_shape, value_range, squash):
        net = nn.Linear(1, 2, bias=False)
        net.weight.data = torch.tensor([[scale], [0.0]])
        return net

    model = DeterministicAutoencoder(
        data_shape=[2],
        encoder=encoder,
        decoder=decoder,
        optimizer=partial(torch.optim.Adam),
        latent_dim=1,
        prior=NormalPrior(1),
    )
    model.novelty_variance = 0.1
    return model


def test_novelty_score_of_a_linear_autoencoder() -> None:
    """-log p(x) = z²/2 + ½ log 2π + log scale + |x - x'|²/(2σ²) + log(2πσ²), z = x_1 / scale."""
    scale, var = 2.0, 0.1
    model = linear_autoencoder(scale)
    inlier, far_along, off_manifold = [0.5, 0.0], [4.0, 0.0], [0.5, 1.0]
    x = torch.tensor([inlier, far_along, off_manifold])
    score = model.anomaly_score(x)
    z = x[:, 0].double() / scale
    gap = x[:, 1].double()
    expected = (
        z**2 / 2
        + 0.5 * math.log(2 * math.pi)
        + math.log(scale)
        + gap**2 / (2 * var)
        + math.log(2 * math.pi * var)
    )
    torch.testing.assert_close(score, expected)
    terms = model.novelty_terms(x)
    torch.testing.assert_close(terms["half_log_det"], torch.full((3,), math.log(scale), dtype=torch.float64))
    # near the code mode < 4 along the manifold (z = 2: +1.97) < 1 off it (+1 / 2σ² = +5)
    assert score[0] < score[1] < score[2]
    assert not score.requires_grad


def test_novelty_variance_is_the_mean_reconstruction_error() -> None:
    model = linear_autoencoder(1.0)
    model.novelty_variance = None
    with pytest.raises(RuntimeError, match="fit_novelty_variance"):
        model.anomaly_score(torch.zeros(1, 2))
    x = torch.tensor([[1.0, 0.5], [0.0, -1.5], [2.0, 0.0]])  # errors only in the second coordinate
    assert model.fit_novelty_variance(x) == pytest.approx((0.25 + 2.25) / 6)


def test_manifold_log_density_sums_its_terms() -> None:
    prior = NormalPrior(2)
    a = torch.randn(5, 2)
    z, x = torch.randn(3, 2), torch.randn(3, 5)
    terms = manifold_log_density(x, z, lambda v: v @ a.T, prior.log_prob, 0.5)
    torch.testing.assert_close(terms["log_px"], terms["log_pz"] - terms["half_log_det"] + terms["log_lik"])


def test_isotropic_gaussian_log_lik_of_one_row() -> None:
    x = torch.tensor([[[1.0, 2.0]]])  # one row of d = 2 scalars, at distance^2 = 5 from 0
    out = isotropic_gaussian_log_lik(x, torch.zeros(1, 1, 2), 0.5)
    assert float(out[0]) == pytest.approx(-0.5 * (5 / 0.5 + 2 * math.log(2 * math.pi * 0.5)), rel=1e-12)

"""Loss functions against closed forms and torch.distributions."""

from __future__ import annotations

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from genexp.losses.gan import discriminator_loss, generator_loss, r1_penalty
from genexp.losses.gaussian import diag_gaussian_log_prob, kl_diag_to_standard_normal
from genexp.losses.likelihoods import bernoulli_nll, gaussian_nll


def test_kl_to_standard_normal_matches_torch() -> None:
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(kl_diag_to_standard_normal(mu, logvar), ref, atol=1e-5)


def test_diag_gaussian_log_prob_matches_torch() -> None:
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (
        torch.randn(5, 2, generator=g),
        torch.randn(5, 2, generator=g),
        torch.randn(5, 2, generator=g),
    )
    ref = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    assert torch.allclose(diag_gaussian_log_prob(z, mu, logvar), ref, atol=1e-5)


def test_gaussian_nll_is_sse_plus_constant_at_half_variance() -> None:
    x, m = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    std = math.sqrt(0.5)
    ref = -Normal(m, std).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(x, m, std), ref, atol=1e-4)
    sse = (x - m).pow(2).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(x, m, std) - sse, torch.full((3,), 8 * math.log(math.pi)), atol=1e-4)


def test_bernoulli_nll_matches_torch() -> None:
    x = torch.randint(0, 2, (3, 5)).float()
    logits = torch.randn(3, 5)
    ref = -Bernoulli(logits=logits).log_prob(x).sum(1)
    assert torch.allclose(bernoulli_nll(x, logits), ref, atol=1e-5)


def test_gan_losses_on_known_logits() -> None:
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert torch.isclose(
        discriminator_loss("hinge", real, fake), torch.tensor((0.0 + 2.0) / 2 + (1.5 + 0.0) / 2)
    )
    assert torch.isclose(generator_loss("hinge", fake), torch.tensor(1.25))
    sp = torch.nn.functional.softplus
    ns_d = sp(-real).mean() + sp(fake).mean()
    assert torch.isclose(discriminator_loss("non_saturating", real, fake), ns_d)
    assert torch.isclose(generator_loss("non_saturating", fake), sp(-fake).mean())


def test_r1_penalty_of_linear_discriminator_is_weight_norm() -> None:
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(6, 2, requires_grad=True)
    logits = x @ w
    assert torch.isclose(r1_penalty(logits, x), torch.tensor(25.0))

"""Loss functions against closed forms and torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from genexp.errors import ConfigError
from genexp.losses.gan import check_gan_loss, discriminator_loss, generator_loss, r1_penalty
from genexp.losses.gaussian import diag_gaussian_log_prob, kl_diag_to_standard_normal
from genexp.losses.likelihoods import bernoulli_nll, check_likelihood, gaussian_nll, squared_error


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


def test_r1_penalty_is_differentiable_in_the_discriminator() -> None:
    # D(x) = x . w: R1 = |w|^2, so d R1 / d w = 2 w (needs the gradient's own graph)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    x = torch.randn(6, 2, requires_grad=True)
    r1_penalty(x @ w, x).backward()
    assert torch.allclose(w.grad, torch.tensor([6.0, 8.0]))


def test_unknown_gan_loss_lists_the_choices() -> None:
    assert check_gan_loss("hinge") == "hinge"
    with pytest.raises(
        ConfigError, match=r"unknown GAN loss 'wgan'; choose one of \['non_saturating', 'hinge'\]"
    ):
        check_gan_loss("wgan")


def test_diag_gaussian_log_prob_broadcasts_rows_against_components() -> None:
    # (n, 1, d) codes against (1, K, d) components: (n, K) log-densities, summed over d only
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (
        torch.randn(5, 1, 3, generator=g),
        torch.randn(1, 4, 3, generator=g),
        torch.randn(1, 4, 3, generator=g),
    )
    ref = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    out = diag_gaussian_log_prob(z, mu, logvar)
    assert out.shape == (5, 4) and torch.allclose(out, ref, atol=1e-5)


def test_likelihood_check_names_the_choices_and_needs_bounds_for_bernoulli() -> None:
    assert check_likelihood("bernoulli", (0.0, 1.0)) == "bernoulli"
    assert check_likelihood("gaussian", None) == "gaussian"
    with pytest.raises(
        ConfigError, match=r"^unknown likelihood 'laplace'; choose one of \['gaussian', 'bernoulli'\]$"
    ):
        check_likelihood("laplace", None)
    bounded = r"^likelihood=bernoulli needs bounded data \(a dataset with value_range\); use gaussian$"
    with pytest.raises(ConfigError, match=bounded):
        check_likelihood("bernoulli", None)


def test_squared_error_is_one_sum_per_row() -> None:
    x_hat = torch.tensor([[[1.0, 0.0]], [[2.0, 2.0]]])
    assert squared_error(torch.zeros(2, 1, 2), x_hat).tolist() == [1.0, 8.0]


def test_split_gaussian_halves_and_clamps_the_log_variance() -> None:
    from genexp.losses.gaussian import split_gaussian

    head = torch.tensor([[1.0, 2.0, -50.0, 0.5], [3.0, 4.0, 25.0, -1.0]])
    mu, logvar = split_gaussian(head)
    assert torch.equal(mu, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert torch.equal(logvar, torch.tensor([[-30.0, 0.5], [20.0, -1.0]]))

"""Model objectives and capabilities on tiny nets (no trainer)."""

from __future__ import annotations

import functools

import pytest
import torch

from genexp.errors import ConfigError
from genexp.losses.gaussian import kl_diag_to_standard_normal
from genexp.models.gan import GAN
from genexp.models.vae import VAE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.priors import GMMPrior


def _vae(**kwargs) -> VAE:
    args = dict(
        data_shape=(2,),
        encoder=functools.partial(data_to_vector, hidden=(16,)),
        decoder=functools.partial(vector_to_data, hidden=(16,)),
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        latent_dim=3,
    )
    args.update(kwargs)
    return VAE(**args)


def test_vae_monte_carlo_kl_agrees_with_closed_form_in_expectation() -> None:
    torch.manual_seed(0)
    vae = _vae()
    mu, logvar = torch.randn(1, 3), torch.randn(1, 3) * 0.3
    closed = kl_diag_to_standard_normal(mu, logvar)
    vae_gmm = _vae(prior=GMMPrior(dim=3, num_components=1, learn_means=False))
    with torch.no_grad():
        vae_gmm.prior.means.zero_()
    z = mu + (0.5 * logvar).exp() * torch.randn(200_000, 3)
    mc = vae_gmm.regularizer(mu.expand_as(z), logvar.expand_as(z), z).mean()
    assert closed.item() == pytest.approx(mc.item(), abs=0.02)
    assert torch.allclose(vae.regularizer(mu, logvar, z[:1]), closed)


def test_bernoulli_vae_decodes_into_value_range() -> None:
    vae = _vae(data_shape=(1, 8, 8), likelihood="bernoulli", value_range=(-1, 1))
    out = vae.sample(5)
    assert out.shape == (5, 1, 8, 8) and out.min() >= -1 and out.max() <= 1
    parts = vae.losses(torch.rand(4, 1, 8, 8) * 2 - 1)
    assert torch.isfinite(parts["loss"])


@pytest.mark.parametrize(
    "kwargs", [{"beta": -1.0}, {"latent_dim": 0}, {"likelihood": "poisson"}, {"obs_std": 0.0}]
)
def test_vae_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        _vae(**kwargs)


def test_bernoulli_needs_bounded_data() -> None:
    with pytest.raises(ConfigError, match="bounded"):
        _vae(likelihood="bernoulli", value_range=None)


def _gan(**kwargs) -> GAN:
    args = dict(
        data_shape=(2,),
        generator=functools.partial(vector_to_data, hidden=(16,)),
        discriminator=functools.partial(data_to_vector, hidden=(16,)),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        latent_dim=2,
    )
    args.update(kwargs)
    return GAN(**args)


def test_gan_steps_touch_only_their_own_nets() -> None:
    gan = _gan(r1_gamma=1.0)
    real = torch.randn(8, 2)
    d_out = gan.discriminator_step(real)
    d_out["loss"].backward()
    assert all(p.grad is None for p in gan.generator.parameters())
    assert "r1" in d_out
    gan.zero_grad()
    gan.generator_step(8)["loss"].backward()
    assert all(p.grad is not None for p in gan.generator.parameters())


@pytest.mark.parametrize("kwargs", [{"d_steps": 0}, {"loss": "wasserstein"}, {"r1_gamma": -1.0}])
def test_gan_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        _gan(**kwargs)

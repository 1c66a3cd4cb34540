"""Thesis ch. 6 models (WVAE, JS-VAE, IKL/FKL-VAE, MMD-VAE) and the BigGAN-style ResNet nets."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from helpers.cli import has_mnist
from torch import nn

from genexp.errors import ConfigError
from genexp.losses.divergences import batch_gaussian, js_gaussians, kl_gaussians, w2_squared_gaussians
from genexp.models.jsvae import JSVAE
from genexp.models.mmdvae import MMDVAE
from genexp.models.wvae import WVAE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.resnet import ConditionalBatchNorm2d, ResNetDecoder, ResNetEncoder
from genexp.priors import GMMPrior


def build(cls: type, prior=None, shape=(1, 8, 8), latent_dim: int = 3, **kwargs):
    """A small model on MLP nets."""
    return cls(
        data_shape=shape,
        value_range=(0.0, 1.0),
        latent_dim=latent_dim,
        prior=prior,
        encoder=partial(data_to_vector, arch="mlp", hidden=(16,)),
        decoder=partial(vector_to_data, arch="mlp", hidden=(16,)),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        **kwargs,
    )


# -- through the CLI --------------------------------------------------------------------------


@pytest.mark.slow
def test_wvae_trains_through_the_cli_with_the_latent_metrics(genexp_cli) -> None:
    run = genexp_cli(
        "model=wvae",
        "dataset=digits",
        "trainer=smoke",
        "logger=none",
        "metric=[latent,linear_probe]",
        "model.latent_dim=4",
        "callbacks=none",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    for key in ("log_mse_x", "log_mse_z", "kl_z", "kl_vae", "mi_q", "h_q_zx", "linear_probe_acc"):
        assert math.isfinite(metrics[f"test/{key}"]), key


@pytest.mark.slow
@pytest.mark.skipif(not has_mnist(), reason="MNIST not prepared (make assets)")
def test_thesis_ch6_cpu_experiment_reports_the_chapter_6_columns(genexp_cli) -> None:
    run = genexp_cli(
        "experiment=thesis_ch6_cpu",
        "model=wvae",
        "trainer=smoke",
        "logger=none",
        "callbacks=none",
        "dataset.n_train=2000",
        "metric.latent.n=500",
        "metric.latent.n_prior=500",
        "metric.linear_probe.n_train=1000",
        *[
            f"metric.{m}.{k}={v}"
            for m in ("fd_classifier", "is_classifier")
            for k, v in (("n_samples", 500), ("n_reference", 500), ("max_train", 2000), ("epochs", 1))
        ],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    for key in (
        "log_mse_x",
        "log_mse_z",
        "kl_z",
        "kl_vae",
        "mi_q",
        "h_q_zx",
        "is_classifier",
        "fd_classifier",
        "linear_probe_acc",
    ):
        assert math.isfinite(metrics[f"test/{key}"]), key


# -- the objectives ---------------------------------------------------------------------------


def test_reconstruction_term_is_the_per_sample_sum_of_squared_errors() -> None:
    torch.manual_seed(0)
    model = build(WVAE)
    x = torch.rand(16, 1, 8, 8)
    out = model.decoder(torch.randn(16, 3))
    sse = (x - out).pow(2).flatten(1).sum(1)
    assert torch.allclose(model.nll(x, out), sse + 0.5 * 64 * math.log(math.pi), atol=1e-4)


@pytest.mark.parametrize(
    "cls,kwargs,reference",
    [
        (WVAE, {}, lambda m, s: w2_squared_gaussians(m, s)),
        (JSVAE, {}, lambda m, s: js_gaussians(m, s)),
        (JSVAE, {"js_method": "symmetric_kl"}, lambda m, s: js_gaussians(m, s, method="symmetric_kl")),
        (JSVAE, {"divergence": "ikl"}, lambda m, s: kl_gaussians(m, s)),
        (JSVAE, {"divergence": "fkl"}, lambda m, s: kl_gaussians(None, None, m, s)),
    ],
)
def test_marginal_regularizer_compares_the_batch_gaussian_of_the_means_with_n01(
    cls, kwargs, reference
) -> None:
    torch.manual_seed(0)
    model = build(cls, **kwargs)
    mu, logvar = torch.randn(32, 3) * 2 + 1, torch.randn(32, 3)
    reg = model.regularizer(mu, logvar, mu + torch.randn(32, 3))  # depends on the means only
    assert reg.ndim == 0
    assert reg.item() == pytest.approx(reference(*batch_gaussian(mu.double())).item(), rel=1e-5)
    model.beta = 2.5
    parts = model.losses(torch.rand(32, 1, 8, 8))
    assert parts["loss"].item() == pytest.approx((parts["nll"] + 2.5 * parts["reg"]).item(), rel=1e-5)


def test_wvae_gradients_are_finite_when_the_codes_collapse() -> None:
    model = build(WVAE)
    mu = torch.full((16, 3), 0.5, requires_grad=True)  # S = 0
    reg = model.regularizer(mu, torch.zeros(16, 3), mu)
    reg.backward()
    assert torch.isfinite(reg) and torch.isfinite(mu.grad).all()
    assert reg.item() == pytest.approx(3 * 0.25 + 3, rel=1e-3)  # ||m||^2 + tr I


def test_mmd_regularizer_small_for_prior_codes_and_large_for_shifted_ones() -> None:
    torch.manual_seed(0)
    model = build(MMDVAE, latent_dim=4)
    z = torch.randn(256, 4)
    near, far = model.regularizer(z, z, z).item(), model.regularizer(z, z, z + 3.0).item()
    assert abs(near) < 0.02 and far > 0.3


def test_one_row_batches_error_in_training_and_give_zero_in_evaluation() -> None:
    for model in (build(WVAE), build(MMDVAE)):
        mu = torch.zeros(1, 3)
        with pytest.raises(ConfigError, match="batch_size"):
            model.regularizer(mu, mu, mu)
        model.eval()
        assert model.regularizer(mu, mu, mu).item() == 0.0


def test_priors_that_do_not_fit_the_marginal_models_are_refused() -> None:
    gmm = partial(GMMPrior, num_components=4)
    with pytest.raises(ConfigError, match="moment_match_prior"):
        build(WVAE, prior=gmm)
    with pytest.raises(ConfigError, match="Gaussian prior"):
        build(JSVAE, prior=lambda dim: nn.Identity())
    model = build(WVAE, prior=gmm, moment_match_prior=True)
    m, s = model.prior.gaussian_moments()
    mu = torch.randn(64, 3)
    expected = w2_squared_gaussians(*batch_gaussian(mu.double()), m.double(), s.double())
    assert model.regularizer(mu, mu, mu).item() == pytest.approx(expected.item(), rel=1e-5)
    assert build(MMDVAE, prior=gmm).regularizer(mu, mu, mu).isfinite()  # MMD only needs prior samples


def test_bad_options_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="divergence"):
        build(JSVAE, divergence="tv")
    with pytest.raises(ConfigError, match="js_method"):
        build(JSVAE, js_method="exact")
    with pytest.raises(ConfigError, match="kernel"):
        build(MMDVAE, kernel="laplace")
    with pytest.raises(ConfigError, match="sqrt_eps"):
        build(WVAE, sqrt_eps=0.0)


# -- ResNet nets ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [28, 32, 64])
@pytest.mark.parametrize("cond_dim", [0, 5])
def test_resnet_output_shapes(side: int, cond_dim: int) -> None:
    torch.manual_seed(0)
    enc = ResNetEncoder((3, side, side), 20, width=16)
    dec = ResNetDecoder(10, (3, side, side), value_range=(-1.0, 1.0), width=16, cond_dim=cond_dim)
    x = torch.randn(4, 3, side, side)
    assert enc(x).shape == (4, 20)
    cond = torch.randn(4, cond_dim) if cond_dim else None
    out = dec(torch.randn(4, 10), cond)
    assert out.shape == (4, 3, side, side)
    assert out.abs().max() <= 1.0


def test_resnet_decoder_conditioning_options() -> None:
    dec = ResNetDecoder(6, (1, 32, 32), width=8, condition_on_z=False, cond_dim=3, squash=False)
    assert dec.blocks[0].bn1.cond_dim == 3
    with pytest.raises(ValueError, match="cond"):
        dec(torch.randn(2, 6))
    plain = ResNetDecoder(6, (1, 32, 32), width=8, condition_on_z=False)
    assert plain.blocks[0].bn1.cond_dim == 0 and plain(torch.randn(2, 6)).shape == (2, 1, 32, 32)
    assert len(ResNetDecoder(6, (1, 32, 32), width=8).blocks) == 3  # 4 -> 8 -> 16 -> 32


def test_conditional_batchnorm_modulates_with_the_conditioning_vector() -> None:
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, cond_dim=2)
    x = torch.randn(8, 4, 5, 5)
    a, b = cbn(x, torch.zeros(8, 2)), cbn(x, torch.ones(8, 2) * 3)
    assert torch.allclose(
        a, nn.functional.batch_norm(x, None, None, training=True), atol=1e-5
    )  # gain 1, bias 0
    assert not torch.allclose(a, b)


def test_resnet_layers_are_spectrally_normalised_and_n002_initialised() -> None:
    torch.manual_seed(0)
    nets = [ResNetEncoder((1, 32, 32), 20, width=32), ResNetDecoder(10, (1, 32, 32), width=32)]
    for net in nets:
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert layers and all(hasattr(m, "parametrizations") for m in layers)
        originals = torch.cat([m.parametrizations.weight.original.flatten() for m in layers])
        assert originals.std().item() == pytest.approx(0.02, rel=0.05)
        assert all(m.bias is None or not m.bias.any() for m in layers)


def test_resnet_encoder_follows_table_6_2() -> None:
    enc = ResNetEncoder((1, 32, 32), 20, width=8)
    assert [b.down for b in enc.blocks] == [True, True, False, True, True]
    assert enc.blocks[0].first and isinstance(enc.blocks[2].skip, nn.Identity)
    assert enc.head.in_features == 2 * 2 * 8  # 32 -> 2 px: 16C features (width 4C)
    with pytest.raises(ConfigError, match="blocks"):
        ResNetEncoder((1, 32, 32), 4, blocks=("up",))
    with pytest.raises(ConfigError, match="widths"):
        ResNetDecoder(4, (1, 32, 32), channels=(8, 8))


def test_wvae_on_resnet_nets_trains_a_step() -> None:
    torch.manual_seed(0)
    model = WVAE(
        data_shape=(1, 32, 32),
        value_range=(-1.0, 1.0),
        latent_dim=4,
        encoder=partial(ResNetEncoder, width=8),
        decoder=partial(ResNetDecoder, width=8),
        optimizer=partial(torch.optim.Adam, lr=2e-4, betas=(0.0, 0.999)),
    )
    opt = model.configure_optimizers()
    loss = model.losses(torch.rand(8, 1, 32, 32) * 2 - 1)["loss"]
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)

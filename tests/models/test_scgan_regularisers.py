"""SC-GAN's discriminator R1 penalty and the projection of the mapping networks onto the encoder's
code sphere (spec scgan.md §2.3, §3; issue 13)."""

from __future__ import annotations

import functools

import pytest
import torch
from helpers.objectives import model_yaml
from torch import nn

from genexp.models.components.cluster_latents import MappingNetworks
from genexp.models.components.contrastive_encoder import ContrastiveEncoder
from genexp.models.scgan import SCGAN
from genexp.nets.scgan_eigen import EigenMLP


def _linear_critic(in_shape, out_dim: int) -> nn.Module:
    return nn.Linear(2, out_dim)


def _scgan(**kwargs) -> SCGAN:
    args = dict(
        data_shape=(2,),
        generator=functools.partial(EigenMLP, hidden=8, num_layers=2, n_basis=3),
        discriminator=_linear_critic,
        encoder=functools.partial(ContrastiveEncoder, hidden=(8,), steps=10, batch_size=32),
        mappers=functools.partial(
            MappingNetworks, hidden=(8,), steps=5, batch_size=16, normalize_output=True
        ),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_clusters=2,
        latent_dim=4,
        latent_model="centers",
        loss="hinge",
    )
    args.update(kwargs)
    return SCGAN(**args)


def test_r1_adds_gamma_half_the_squared_weight_norm_of_each_linear_critic() -> None:
    """D(x) = w·x + b has grad_x D = w everywhere, so R1 = ||w||² for D_gen and D_rec alike."""
    torch.manual_seed(0)
    real = torch.randn(16, 2)
    losses = {}
    for gamma in (0.0, 2.0):
        torch.manual_seed(0)  # the same nets for both
        model = _scgan(r1_gamma=gamma)
        with torch.no_grad():
            model.discriminator.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||w||² = 25
            model.rec_discriminator.weight.copy_(torch.tensor([[1.0, 2.0]]))  # ||w||² = 5
        torch.manual_seed(1)
        losses[gamma] = out = model.discriminator_step(real.clone())
        assert ("r1" in out) == ("r1_rec" in out) == (gamma > 0)
    out = losses[2.0]
    assert out["r1"].item() == pytest.approx(25.0) and out["r1_rec"].item() == pytest.approx(5.0)
    assert (out["loss"] - out["d_loss"] - out["d_rec_loss"]).item() == pytest.approx(0.5 * 2.0 * 30.0)
    torch.testing.assert_close(out["d_loss"], losses[0.0]["d_loss"])  # same adversarial terms
    torch.testing.assert_close(out["d_rec_loss"], losses[0.0]["d_rec_loss"])
    out["loss"].backward()  # the penalty reaches the critics' weights: d/dw (γ/2)||w||² = γ w
    assert model.discriminator.weight.grad is not None
    with torch.inference_mode():  # validation / test: the plain losses, no R1 (no gradients there)
        plain = model.discriminator_step(real.clone())
    assert "r1" not in plain and "r1_rec" not in plain
    torch.testing.assert_close(plain["loss"], plain["d_loss"] + plain["d_rec_loss"])


def test_mapping_latents_lie_on_the_encoders_unit_sphere() -> None:
    torch.manual_seed(0)
    x = torch.cat([torch.randn(100, 2) * 0.1 - 2, torch.randn(100, 2) * 0.1 + 2])
    model = _scgan(latent_model="mapping")
    model.prepare_stages(x)
    codes = model.encode(x)
    assert torch.allclose(codes.norm(dim=1), torch.ones(len(x)), atol=1e-5)  # the encoder's manifold
    eps = model.sample_latents(500)
    assert torch.allclose(eps.norm(dim=1), torch.ones(500), atol=1e-5)
    raw = MappingNetworks(4, 2, hidden=(8,), normalize_output=False)
    raw.mappers.load_state_dict(model.mappers.mappers.state_dict())
    omega, idx = torch.randn(50, 8), torch.randint(0, 2, (50,))
    unprojected = raw.decode(omega, idx)
    assert not torch.allclose(unprojected.norm(dim=1), torch.ones(50), atol=1e-2)
    torch.testing.assert_close(model.mappers.decode(omega, idx), nn.functional.normalize(unprojected, dim=1))


def test_scgan_yaml_sets_the_spec_r1_and_the_projection() -> None:
    cfg = model_yaml("scgan")
    assert cfg["r1_gamma"] == 1.0 and cfg["mappers"]["normalize_output"] is True

"""Every step of the GAN, AIM and AIM-MPCC schedules (thesis spec §A.5, §B.3) replayed by hand:
each optimiser's gradients are those of the hand-built loss of its stage on the same real and
generated inputs (discriminator step: only D's; generator step: only G's; encoder step: the
encoder's, with the trunk it shares with D for AIM-MPCC (S)), the logged losses are those losses,
every stage lowers its own loss, and the parameters end where the replay ends. MPCC:
test_objectives_mpcc.py."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
from helpers.objectives import (
    ManualStep,
    assert_same_params,
    assert_terms_distinct,
    check_stage,
    d_loss,
    encoder_nll,
    g_loss,
)

from genexp.models.aim import AIM
from genexp.models.aim_mpcc import AIMMPCC
from genexp.models.gan import GAN
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.mpcc_generators import ConditionalMLPGenerator
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder

N = 8
SGD = functools.partial(torch.optim.SGD, lr=0.01)
LOG_2PI = math.log(2 * math.pi)


def real_batch(shape: tuple[int, ...], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(N, *shape, generator=g) * 1.6 - 0.8), torch.zeros(N, dtype=torch.long)


# -- GAN ------------------------------------------------------------------------------------------


def gan(**kwargs) -> GAN:
    torch.manual_seed(0)
    args = dict(
        data_shape=(2,),
        generator=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        g_optimizer=SGD,
        d_optimizer=SGD,
        latent_dim=3,
    )
    args.update(kwargs)
    return GAN(**args)


@pytest.mark.parametrize("loss,r1_gamma", [("non_saturating", 0.0), ("hinge", 0.0), ("non_saturating", 3.0)])
def test_gan_d_then_g_step_match_the_hand_built_losses(loss: str, r1_gamma: float) -> None:
    model = gan(loss=loss, r1_gamma=r1_gamma)
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    real, y = real_batch((2,))
    torch.manual_seed(5)
    out = step((real.clone(), y))
    torch.manual_seed(5)
    z_d, z_g = torch.randn(N, 3), torch.randn(N, 3)

    def d_stage():
        x = real.clone().requires_grad_(r1_gamma > 0)
        logits = ref.discriminator(x).view(-1)
        terms = {"d": d_loss(loss, logits, ref.discriminator(ref.generator(z_d).detach()).view(-1))}
        if r1_gamma > 0:
            (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
            terms["r1"] = grad.pow(2).sum(1).mean()
            return terms["d"] + 0.5 * r1_gamma * terms["r1"], terms
        return terms["d"], terms

    d = check_stage(step.records[:1], ref, d_stage, ["d"])
    torch.testing.assert_close(step.logs["train/d_loss"], d["d"])
    if r1_gamma > 0:
        torch.testing.assert_close(step.logs["train/r1"], d["r1"])
        assert_terms_distinct({"d": d["d"], "r1/2 gamma": 0.5 * r1_gamma * d["r1"]})
    g = check_stage(
        step.records[1:], ref, lambda: g_loss(loss, ref.discriminator(ref.generator(z_g)).view(-1)), ["g"]
    )
    torch.testing.assert_close(step.logs["train/g_loss"], g["loss"])
    torch.testing.assert_close(out["loss"], d["loss"] + g["loss"])
    assert_same_params(model, ref)


def test_gan_with_d_steps_two_updates_g_every_second_batch() -> None:
    model = gan(d_steps=2)
    step = ManualStep(model, ["g", "d"])
    real, y = real_batch((2,))
    for idx in range(4):
        step((real, y), idx)
    assert [r.name for r in step.records] == ["d", "d", "g", "d", "d", "g"]


# -- AIM and AIM-MPCC -----------------------------------------------------------------------------

SHAPE = (1, 4, 4)


def aim(cls=AIM, **kwargs):
    torch.manual_seed(0)
    shared = cls is AIMMPCC
    nets = (
        dict(
            generator=functools.partial(ConditionalMLPGenerator, hidden=(8,)),
            discriminator=functools.partial(mlp_critic, trunk=(8,), spectral_norm=False),
            encoder=functools.partial(
                mlp_encoder, trunk=(8,), hidden=(8,), head_hidden=8, spectral_norm=False
            ),
            share_encoder=True,
        )
        if shared
        else dict(
            generator=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
            discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
            encoder=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        )
    )
    args = dict(
        data_shape=SHAPE,
        value_range=(-1.0, 1.0),
        latent_dim=3,
        g_optimizer=SGD,
        d_optimizer=SGD,
        e_optimizer=functools.partial(torch.optim.SGD, lr=0.05),
        e_steps=2,
        **nets,
    )
    args.update(kwargs)
    return cls(**args)


@pytest.mark.parametrize("cls", [AIM, AIMMPCC])
def test_aim_iteration_is_d_then_g_then_encoder_nll_steps_on_fresh_pairs(cls) -> None:
    model = aim(cls)
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d", "e"])
    real, y = real_batch(SHAPE)
    torch.manual_seed(5)
    step((real, y))
    torch.manual_seed(5)
    z_d, z_g, z_e1, z_e2 = (torch.randn(N, 3) for _ in range(4))
    assert [r.name for r in step.records] == ["d", "g", "e", "e"]
    d = check_stage(
        step.records[:1],
        ref,
        lambda: d_loss(
            "hinge", ref.discriminator(real).view(-1), ref.discriminator(ref.generator(z_d)).view(-1)
        ),
        ["d"],
    )
    g = check_stage(
        step.records[1:2], ref, lambda: g_loss("hinge", ref.discriminator(ref.generator(z_g)).view(-1)), ["g"]
    )

    def e_stage(z: torch.Tensor):
        def loss() -> torch.Tensor:
            with torch.no_grad():
                x = ref.generator(z)
            mu, logvar = ref.encoder(x).chunk(2, dim=1)
            return encoder_nll(z, mu, logvar.clamp(-30, 20), 16)

        return loss

    e1 = check_stage(step.records[2:3], ref, e_stage(z_e1), ["e"])
    check_stage(step.records[3:4], ref, e_stage(z_e2), ["e"])
    for key, value in (("d_loss", d), ("g_loss", g), ("e_nll", e1)):
        torch.testing.assert_close(step.logs[f"train/{key}"], value["loss"])
    assert model.iteration == 1
    assert_same_params(model, ref)
    if cls is AIMMPCC:  # S: the encoder step also moved the trunk it shares with D
        assert any(n.startswith("discriminator.trunk") for n in step.records[2].grads)

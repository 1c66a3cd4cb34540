"""ALI, ALICE and Veegan (thesis spec §A.6, §C2): one training step replayed by hand.

The discriminator step's gradients are those of the vanilla GAN loss of eq. 4.1 written out with
the thesis' f(y) = -log(1 + e^-y) and g(y) = -y - log(1 + e^-y) on inference pairs (x, z~) and
generative pairs (G(z), z), and reach only D; the G/encoder step's are those of the label-swapped
loss plus each variant's likelihood terms (ALICE: X and Z, Veegan: Z, ALI: none), and reach G and
the encoder; the logged values are those terms and the parameters end where the replay ends."""

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
    encoder_nll,
)

from genexp.models.ali import ALI
from genexp.models.alice import ALICE
from genexp.models.veegan import Veegan
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.joint_critic import JointCritic, ResidualMLPBlock
from genexp.priors import GMMPrior

N, J = 8, 3
SHAPE = (1, 4, 4)
SGD = functools.partial(torch.optim.SGD, lr=0.01)


def f(y: torch.Tensor) -> torch.Tensor:
    """The vanilla GAN's f: D maximises E_q f(D(x, z~))."""
    return -torch.log1p(torch.exp(-y))


def g(y: torch.Tensor) -> torch.Tensor:
    """The vanilla GAN's g: D maximises E_p g(D(G(z), z))."""
    return -y - torch.log1p(torch.exp(-y))


def build(cls=ALI, **kwargs):
    torch.manual_seed(0)
    args = dict(
        data_shape=SHAPE,
        value_range=(-1.0, 1.0),
        latent_dim=J,
        generator=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        encoder=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        joint_critic=functools.partial(JointCritic, hidden=6, spectral_norm=False),
        g_optimizer=SGD,
        d_optimizer=SGD,
    )
    args.update(kwargs)
    return cls(**args)


def real_batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(N, *SHAPE, generator=gen) * 1.6 - 0.8, torch.zeros(N, dtype=torch.long)


def posterior(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu, logvar = model.encoder(x).chunk(2, dim=1)
    return mu, logvar.clamp(-30, 20)


VARIANTS = [
    (ALI, {}, ()),
    (ALICE, {"lambda_x": 2.0, "lambda_z": 0.5}, ("x_rec", "z_nll")),
    (Veegan, {"lambda_z": 0.5}, ("z_nll",)),
]


@pytest.mark.parametrize("cls,weights,terms", VARIANTS, ids=lambda v: getattr(v, "__name__", None))
def test_d_step_then_g_encoder_step_match_the_hand_built_objective(cls, weights, terms) -> None:
    model = build(cls, **weights)
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    leaked: list[str] = []  # G / encoder parameters holding a gradient when D steps
    d_update = step.opts[1].step

    def d_update_checked(*args, **kwargs):
        leaked.extend(
            n for n, p in model.named_parameters() if p.grad is not None and "discriminator" not in n
        )
        return d_update(*args, **kwargs)

    step.opts[1].step = d_update_checked
    real, y = real_batch()
    torch.manual_seed(5)
    out = step((real.clone(), y))
    assert leaked == []  # the D step builds its pairs without gradients into G and the encoder
    torch.manual_seed(5)  # the model's draws, in order: D step eps and z, then G step eps and z
    eps_d, z_d, eps_g, z_g = (torch.randn(N, J) for _ in range(4))

    def d_stage():
        with torch.no_grad():
            mu, logvar = posterior(ref, real)
            z_tilde = mu + (0.5 * logvar).exp() * eps_d
            x_tilde = ref.generator(z_d)
        # D maximises E_q f(D(x, z~)) + E_p g(D(G(z), z)); it minimises the negative
        return -(f(ref.discriminator(real, z_tilde)).mean() + g(ref.discriminator(x_tilde, z_d)).mean())

    def g_stage():
        mu, logvar = posterior(ref, real)
        z_tilde = mu + (0.5 * logvar).exp() * eps_g
        x_tilde = ref.generator(z_g)
        # labels swapped: (G(z), z) scored as real, (x, z~) as fake
        parts = {
            "adv": -(f(ref.discriminator(x_tilde, z_g)).mean() + g(ref.discriminator(real, z_tilde)).mean())
        }
        if "x_rec" in terms:
            parts["x_rec"] = (real - ref.generator(z_tilde)).pow(2).mean()
        if "z_nll" in terms:
            parts["z_nll"] = encoder_nll(z_g, *posterior(ref, x_tilde), J)
        total = parts["adv"] + sum(weights[f"lambda_{k[0]}"] * v for k, v in parts.items() if k != "adv")
        return total, parts

    assert [r.name for r in step.records] == ["d", "g"]
    assert all(n.startswith("discriminator.") for n in step.records[0].grads)
    assert {n.split(".")[0] for n in step.records[1].grads} == {"generator", "encoder"}
    d = check_stage(step.records[:1], ref, d_stage, ["d"])
    ge = check_stage(step.records[1:], ref, g_stage, ["g"])
    torch.testing.assert_close(step.logs["train/d_loss"], d["loss"])
    torch.testing.assert_close(step.logs["train/g_loss"], ge["adv"])
    assert {k for k in ("x_rec", "z_nll") if f"train/{k}" in step.logs} == set(terms)
    for key in terms:
        torch.testing.assert_close(step.logs[f"train/{key}"], ge[key])
    if terms:
        assert_terms_distinct({"adv": ge["adv"], **{k: weights[f"lambda_{k[0]}"] * ge[k] for k in terms}})
    torch.testing.assert_close(out["loss"], d["loss"] + ge["loss"])
    assert_same_params(model, ref)


def test_hinge_loss_and_d_steps_two() -> None:
    model = build(loss="hinge", d_steps=2)
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    first, y = real_batch(1)
    second, _ = real_batch(2)
    torch.manual_seed(5)
    step((first, y), 0)
    step((second, y), 1)
    torch.manual_seed(5)
    eps_1, z_1, eps_2, z_2, eps_g, z_g = (torch.randn(N, J) for _ in range(6))
    assert [r.name for r in step.records] == ["d", "d", "g"]

    def d_stage(x, eps, z):
        def loss():
            with torch.no_grad():
                mu, logvar = posterior(ref, x)
                z_tilde, x_tilde = mu + (0.5 * logvar).exp() * eps, ref.generator(z)
            real_logits, fake_logits = ref.discriminator(x, z_tilde), ref.discriminator(x_tilde, z)
            return torch.relu(1 - real_logits).mean() + torch.relu(1 + fake_logits).mean()

        return loss

    def g_stage():  # on the last D step's batch
        mu, logvar = posterior(ref, second)
        z_tilde = mu + (0.5 * logvar).exp() * eps_g
        return -ref.discriminator(ref.generator(z_g), z_g).mean() + ref.discriminator(second, z_tilde).mean()

    check_stage(step.records[:1], ref, d_stage(first, eps_1, z_1), ["d"])
    check_stage(step.records[1:2], ref, d_stage(second, eps_2, z_2), ["d"])
    check_stage(step.records[2:], ref, g_stage, ["g"])
    assert_same_params(model, ref)


def test_joint_critic_layout_and_residual_block() -> None:
    torch.manual_seed(0)
    critic = JointCritic(
        functools.partial(data_to_vector, arch="mlp", hidden=(8,)), SHAPE, latent_dim=J, hidden=6
    )
    assert critic.x_net(torch.zeros(2, *SHAPE)).shape == (2, 3)  # x_features defaults to hidden // 2
    assert (critic.z_net.skip.in_features, critic.z_net.fc1.out_features) == (J, 6)  # D_z: J -> 8C
    assert critic.xz_net.fc1.in_features == 3 + 6
    x, z = torch.randn(5, *SHAPE, requires_grad=True), torch.randn(5, J, requires_grad=True)
    out = critic(x, z)
    assert out.shape == (5, 1)
    gx, gz = torch.autograd.grad(out.sum(), [x, z])
    assert gx.abs().sum() > 0 and gz.abs().sum() > 0  # the logit depends on both halves of the pair
    block = ResidualMLPBlock(4, 4, spectral_norm=False)
    assert isinstance(block.skip, torch.nn.Identity)
    with torch.no_grad():
        block.fc2.weight.zero_()
        block.fc2.bias.zero_()
    h = torch.randn(3, 4)
    torch.testing.assert_close(block(h), h)  # the second layer off: only the identity skip remains
    with torch.no_grad():
        block.fc2.bias.fill_(0.5)
    torch.testing.assert_close(block(h), h + 0.5)


def test_capabilities_shapes_and_a_learnable_prior_in_the_g_optimizer() -> None:
    model = build(ALICE, prior=functools.partial(GMMPrior, num_components=3, seed=0))
    x, _ = real_batch()
    model.eval()
    assert model.sample(5).shape == (5, *SHAPE)
    assert model.encode(x).shape == (N, J)
    mu, logvar = model.encode_distribution(x)
    assert mu.shape == logvar.shape == (N, J)
    assert model.reconstruct(x).shape == x.shape
    torch.testing.assert_close(model.reconstruct(x), model.decode(mu))
    assert model.sample(4).min() >= -1 and model.sample(4).max() <= 1  # tanh for data in [-1, 1]
    opt_g, opt_d = model.configure_optimizers()
    in_g = {id(p) for group in opt_g.param_groups for p in group["params"]}
    learnable = {id(p) for p in model.prior.parameters() if p.requires_grad}
    assert learnable and learnable <= in_g  # the GMM's means and log-variances
    assert {id(p) for p in model.encoder.parameters()} <= in_g
    assert not in_g & {id(p) for p in model.discriminator.parameters()}
    assert math.isclose(model.lambda_x, 1.0) and math.isclose(model.lambda_z, 1.0)

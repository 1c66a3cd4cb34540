"""Every step of the GAN, AIM, AIM-MPCC and MPCC schedules (thesis spec §A.5, §B.2-B.3), replayed
by hand: each optimiser's gradients are those of the hand-built loss of its stage on the same real
and generated inputs (discriminator step: only D's; generator step: G's and the prior's; encoder
step: the encoder's, and on MPCC's first encoder step also the prior's), the logged losses are
those losses, every stage lowers its own loss, and the parameters end where the replay ends."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
import torch.nn.functional as F
from helpers.objectives import ManualStep, assert_same_params, assert_terms_distinct, check_stage
from omegaconf import OmegaConf

from genexp.config import CONFIG_DIR
from genexp.models.aim import AIM
from genexp.models.aim_mpcc import AIMMPCC
from genexp.models.gan import GAN
from genexp.models.mpcc import MPCC
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.mpcc_generators import ConditionalMLPGenerator
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder
from genexp.priors.floored_gmm import FlooredGMMPrior

N = 8
SGD = functools.partial(torch.optim.SGD, lr=0.01)
LOG_2PI = math.log(2 * math.pi)


def real_batch(shape: tuple[int, ...], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(N, *shape, generator=g) * 1.6 - 0.8), torch.zeros(N, dtype=torch.long)


def d_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The spec's discriminator losses, written out."""
    if name == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def g_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean() if name == "hinge" else -F.logsigmoid(fake_logits).mean()


def encoder_nll(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, data_dim: int) -> torch.Tensor:
    """Eq. 6.1 / 7.13 per sample, averaged, divided by dim(x)."""
    per_dim = 0.5 * (LOG_2PI + logvar) + (z - mu).pow(2) / (2 * logvar.exp())
    return per_dim.sum(1).mean() / data_dim


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


# -- MPCC -----------------------------------------------------------------------------------------

K, J, LAMBDA_P, PRIOR_LR = 3, 3, 0.3, 0.02


def mpcc(**kwargs) -> MPCC:
    torch.manual_seed(0)
    args = dict(
        data_shape=SHAPE,
        value_range=(-1.0, 1.0),
        latent_dim=J,
        num_clusters=K,
        prior=functools.partial(FlooredGMMPrior, std_floor=0.5, init_logvar=1.0),
        prior_lr=PRIOR_LR,
        lambda_p=LAMBDA_P,
        generator=functools.partial(ConditionalMLPGenerator, hidden=(8,)),
        discriminator=functools.partial(mlp_critic, trunk=(8,), spectral_norm=False),
        encoder=functools.partial(mlp_encoder, trunk=(8,), hidden=(8,), head_hidden=8, spectral_norm=False),
        share_encoder=True,
        g_optimizer=SGD,
        d_optimizer=SGD,
        e_optimizer=functools.partial(torch.optim.SGD, lr=0.05),
        e_steps=2,
    )
    args.update(kwargs)
    return MPCC(**args)


def prior_draw(prior, k: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu_y + (exp(lv_y / 2) + 0.5) * eps: the official code's additive std floor (spec §B.2)."""
    return prior.means[k] + ((0.5 * prior.logvars).exp() + 0.5)[k] * eps


def draws(n_draws: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (component, eps) pairs the model draws after the same seed: uniform y, then N(0, I)."""
    out = []
    for _ in range(n_draws):
        k = torch.multinomial(torch.full((K,), 1.0 / K), N, replacement=True)
        out.append((k, torch.randn(N, J)))
    return out


def cluster_ce(prior, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L_c (eqs. 7.14-7.15) with the code's density variance exp(lv) + 0.5^2 and uniform phi."""
    var = prior.logvars.exp() + 0.25
    log_n = -0.5 * ((z[:, None] - prior.means[None]).pow(2) / var + var.log() + LOG_2PI).sum(-1)
    return F.cross_entropy(log_n - math.log(K), y)


def test_mpcc_iteration_matches_algorithm_1_term_by_term() -> None:
    model = mpcc()
    assert model.prior.std_floor == 0.5
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d", "e"])
    real, y = real_batch(SHAPE)
    torch.manual_seed(5)
    step((real, y))
    torch.manual_seed(5)
    (k_d, eps_d), (k_g, eps_g), (k_1, eps_1), (k_2, eps_2) = draws(4)
    assert [r.name for r in step.records] == ["d", "g", "e", "g", "e"]
    assert (
        step.records[1].lrs["prior.means"] == PRIOR_LR and step.records[1].lrs["generator.out.weight"] == 0.01
    )
    p = ref.prior

    def d_stage() -> torch.Tensor:
        with torch.no_grad():
            fake = ref.generator(prior_draw(p, k_d, eps_d), k_d)
        return d_loss("hinge", ref.discriminator(real).view(-1), ref.discriminator(fake).view(-1))

    d = check_stage(step.records[:1], ref, d_stage, ["d"])
    # the G step moves G and, through the reparameterised z, the prior's means and log-variances
    g = check_stage(
        step.records[1:2],
        ref,
        lambda: g_loss("hinge", ref.discriminator(ref.generator(prior_draw(p, k_g, eps_g), k_g)).view(-1)),
        ["g"],
    )
    assert step.records[1].grads["prior.means"].abs().sum() > 0

    def e_first():
        z = prior_draw(p, k_1, eps_1)  # not detached: the NLL reaches the prior too (official code)
        with torch.no_grad():
            x = ref.generator(z, k_1)
        mu, logvar = ref.encoder(x).chunk(2, dim=1)
        terms = {
            "e_nll": encoder_nll(z, mu, logvar.clamp(-30, 20), 16),
            "l_c": cluster_ce(p, z, k_1),
            "l_p": (-0.5 * (p.logvars + LOG_2PI + 1)).mean(),
        }
        return terms["e_nll"] + terms["l_c"] + LAMBDA_P * terms["l_p"], terms

    terms = check_stage(step.records[2:4], ref, e_first, ["e", "g"])
    assert all(step.records[3].grads[n] is None for n in step.records[3].grads if n.startswith("generator."))
    assert_terms_distinct(
        {"nll": terms["e_nll"], "l_c": terms["l_c"], "lambda_p l_p": LAMBDA_P * terms["l_p"]}
    )

    def e_second() -> torch.Tensor:
        z = prior_draw(p, k_2, eps_2).detach()
        with torch.no_grad():
            x = ref.generator(z, k_2)
        mu, logvar = ref.encoder(x).chunk(2, dim=1)
        return encoder_nll(z, mu, logvar.clamp(-30, 20), 16)

    check_stage(step.records[4:], ref, e_second, ["e"])
    first = {"d_loss": d["loss"], "g_loss": g["loss"], **{k: terms[k] for k in ("e_nll", "l_c", "l_p")}}
    for key, value in first.items():
        torch.testing.assert_close(step.logs[f"train/{key}"], value)
    assert_same_params(model, ref)
    assert torch.equal(model.prior.logits, ref.prior.logits)  # phi stays uniform


def test_mpcc_and_aim_mpcc_yamls_feed_the_spec_values() -> None:
    mp = OmegaConf.load(CONFIG_DIR / "model" / "mpcc.yaml")
    base = OmegaConf.load(CONFIG_DIR / "model" / "aim_mpcc.yaml")
    assert mp.lambda_p == 0.01 and mp.prior_lr == pytest.approx(1.6e-3)  # MNIST eta_p
    assert mp.prior.std_floor == 0.5 and mp.prior.init_logvar == 1.0 and mp.prior.mean_norm == 1.0
    assert base.d_steps == 4 and base.e_steps == 4 and base.loss == "hinge"
    assert base.g_optimizer.lr == pytest.approx(2e-4) and list(base.g_optimizer.betas) == [0.0, 0.999]
    assert base.ema_decay == 0.9999 and base.ema_start == 1000 and base.standing_stats == 16
    aim_cfg = OmegaConf.load(CONFIG_DIR / "model" / "aim.yaml")
    assert aim_cfg.loss == "hinge"

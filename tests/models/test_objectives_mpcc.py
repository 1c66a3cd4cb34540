"""MPCC's iteration (thesis spec §B.2, Algorithm 1 and the official code) replayed by hand: D on
real vs G(z, y) with y uniform and z = mu_y + (exp(lv_y / 2) + 0.5) eps; G's hinge loss moving G and
the prior's means/log-variances; the first encoder step on NLL/dim(x) + L_c + lambda_p L_p moving
the encoder and the prior (not G); later encoder steps on the NLL only. Plus the shipped values."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
import torch.nn.functional as F
from helpers.objectives import (
    ManualStep,
    assert_same_params,
    assert_terms_distinct,
    check_stage,
    d_loss,
    encoder_nll,
    g_loss,
    model_yaml,
)

from genexp.models.mpcc import MPCC
from genexp.nets.mpcc_generators import ConditionalMLPGenerator
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder
from genexp.priors.floored_gmm import FlooredGMMPrior

N, SHAPE = 8, (1, 4, 4)
SGD = functools.partial(torch.optim.SGD, lr=0.01)
LOG_2PI = math.log(2 * math.pi)

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
    g = torch.Generator().manual_seed(1)
    real, y = torch.rand(N, *SHAPE, generator=g) * 1.6 - 0.8, torch.zeros(N, dtype=torch.long)
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
    mp, base = model_yaml("mpcc"), model_yaml("aim_mpcc")
    assert mp["lambda_p"] == 0.01 and mp["prior_lr"] == pytest.approx(1.6e-3)  # MNIST eta_p
    assert mp["prior"]["std_floor"] == 0.5 and mp["prior"]["init_logvar"] == 1.0
    assert mp["prior"]["mean_norm"] == 1.0 and mp["prior"]["floor_mode"] == "code"
    assert (mp["d_steps"], mp["e_steps"], mp["loss"]) == (4, 4, "hinge")  # inherited from aim_mpcc
    assert base["g_optimizer"]["lr"] == pytest.approx(2e-4) and base["g_optimizer"]["betas"] == [0.0, 0.999]
    assert (base["ema_decay"], base["ema_start"], base["standing_stats"]) == (0.9999, 1000, 16)
    assert base["prior"] is None and model_yaml("aim")["loss"] == "hinge"

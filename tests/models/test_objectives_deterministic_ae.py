"""SWAE, GEN and AAE: the training loss equals reconstruction + beta * the latent term rebuilt by
hand (SWAE: sliced W2 to prior draws; GEN: the lagged-KDE Jensen-Shannon term of spec gen.md §2.3,
own lagged copy left out; AAE: a D step on prior draws vs codes, then the autoencoder step with the
encoder's adversarial loss, spec gen.md §6.6), and one small step lowers it."""

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
from genexp.losses.kde import kde_log_density_from_sqdist
from genexp.models.aae import AAE
from genexp.models.gen import GEN
from genexp.models.swae import SlicedWassersteinAE, sliced_wasserstein2
from genexp.nets.factory import data_to_vector, vector_to_data

N, D, J = 10, 6, 2


def build(cls: type, **kwargs):
    torch.manual_seed(0)
    args = dict(
        data_shape=(D,),
        latent_dim=J,
        encoder=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        decoder=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
        optimizer=functools.partial(torch.optim.SGD, lr=1e-3),
    )
    args.update(kwargs)
    return cls(**args)


def inputs(n: int = N, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, D, generator=torch.Generator().manual_seed(seed)) * 1.5 + 0.5


def recon(model, x: torch.Tensor, reduction: str) -> torch.Tensor:
    sse = (x - model.decoder(model.encoder(x))).pow(2).sum(1)
    return sse.mean() / (D if reduction == "mean" else 1)


def lowers(model, loss_fn) -> None:
    """One SGD step (lr 1e-3) of the model's own optimiser on ``loss_fn()`` lowers it."""
    opt = model.configure_optimizers()
    opt = opt[0] if isinstance(opt, list) else opt
    before = loss_fn()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert float(loss_fn().detach()) < float(before.detach())


# -- SWAE -----------------------------------------------------------------------------------------


def test_sliced_wasserstein_of_a_shifted_copy_is_the_mean_squared_projected_shift() -> None:
    g = torch.Generator().manual_seed(0)
    a, c = torch.randn(200, 3, generator=g), torch.tensor([1.0, -2.0, 0.5])
    torch.manual_seed(3)
    sw = sliced_wasserstein2(a, a + c, num_projections=7)
    torch.manual_seed(3)
    theta = F.normalize(torch.randn(7, 3), dim=1)
    torch.testing.assert_close(sw, (theta @ c).pow(2).mean())
    many = sliced_wasserstein2(a, a + c, num_projections=20000)
    assert float(many) == pytest.approx(float(c.pow(2).sum()) / 3, rel=0.03)  # E (theta . c)^2 = |c|^2 / d


def test_sliced_wasserstein_in_one_dimension_is_the_sorted_w2() -> None:
    a, b = torch.tensor([[3.0], [0.0], [1.0]]), torch.tensor([[2.0], [5.0], [-1.0]])
    expected = ((torch.tensor([0.0, 1.0, 3.0]) - torch.tensor([-1.0, 2.0, 5.0])) ** 2).mean()
    torch.testing.assert_close(sliced_wasserstein2(a, b, 5), expected)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_swae_loss_is_reconstruction_plus_beta_sliced_w2_to_prior_draws(reduction: str) -> None:
    model = build(SlicedWassersteinAE, beta=3.0, num_projections=5, recon_reduction=reduction)
    x = inputs()
    z = model.encoder(x)
    torch.manual_seed(4)
    prior = torch.randn(N, J)
    theta = F.normalize(torch.randn(5, J), dim=1)
    pa, pb = (z @ theta.T).sort(0).values, (prior @ theta.T).sort(0).values
    terms = {"recon": recon(model, x, reduction), "beta*sw": 3.0 * (pa - pb).pow(2).mean()}
    assert_terms_distinct(terms)
    torch.manual_seed(4)
    torch.testing.assert_close(model.training_step((x, x[:, 0]), 0), sum(terms.values()))

    def loss():
        torch.manual_seed(4)
        return model.losses(x)["loss"]

    lowers(model, loss)


# -- GEN ------------------------------------------------------------------------------------------

H, KDE = 0.5, 12


def gen_model(**kwargs) -> GEN:
    model = build(GEN, beta=2.0, kde_size=KDE, bandwidth=H, **kwargs)
    model._kde_x = inputs(KDE, seed=2)
    model._key_proj = torch.randn(D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return model


def gen_term(model, x: torch.Tensor, kde_x: torch.Tensor, leave_out: bool = True) -> torch.Tensor:
    """logsigmoid(log p_e(z) - log N(z; 0, I)) per row: p_e the normalised KDE (bandwidth h) on the
    codes of the KDE images; a batch image's own copy among them is left out (spec gen.md §2.4)."""
    z = model.encoder(x)
    with torch.no_grad():
        centres = model.encoder(kde_x)
    d2 = torch.cdist(z, centres).pow(2)
    if leave_out:
        d2 = d2.masked_fill((x[:, None] == kde_x[None]).all(-1), float("inf"))
    log_pe = kde_log_density_from_sqdist(d2, H, J)
    log_pt = -0.5 * (z.pow(2).sum(1) + J * math.log(2 * math.pi))
    return F.logsigmoid(log_pe - log_pt)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gen_loss_is_mse_plus_lambda_kde_jsd_with_the_own_code_left_out(reduction: str) -> None:
    model = gen_model(jsd_reduction=reduction)
    kde_x = model._kde_x
    x = torch.cat([kde_x[:6], inputs(4, seed=5)])  # 6 images whose lagged codes are in the KDE
    term = gen_term(model, x, kde_x)
    jsd = term.mean() if reduction == "mean" else term.sum()
    terms = {"recon": recon(model, x, "mean"), "beta*jsd": 2.0 * jsd}
    assert_terms_distinct(terms)
    leaky = gen_term(model, x, kde_x, leave_out=False)
    assert float((leaky.mean() - term.mean()).detach().abs()) > 1e-2  # leaving the own code out matters
    torch.manual_seed(3)
    got = model.training_step((x, x[:, 0]), 0)  # refreshes the lagged codes at step 0
    torch.testing.assert_close(got, sum(terms.values()), rtol=1e-5, atol=1e-5)
    model._batch_x = x
    lowers(model, lambda: model.losses(x)["loss"])


def test_gen_yaml_feeds_the_spec_defaults() -> None:
    cfg = OmegaConf.load(CONFIG_DIR / "model" / "gen.yaml")
    assert cfg.bandwidth is None and cfg.recon_reduction == "mean" and cfg.jsd_reduction == "mean"
    assert cfg.refresh_every == 10 and cfg.sample_from == "shrunk"


# -- AAE ------------------------------------------------------------------------------------------


def aae(loss: str) -> AAE:
    return build(
        AAE,
        beta=0.5,
        loss=loss,
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        d_optimizer=functools.partial(torch.optim.SGD, lr=0.05),
        optimizer=functools.partial(torch.optim.SGD, lr=0.01),
    )


def adv_d(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if loss == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()


@pytest.mark.parametrize("loss", ["non_saturating", "hinge"])
def test_aae_d_step_on_prior_draws_then_the_autoencoder_step(loss: str) -> None:
    model = aae(loss)
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["ae", "d"])
    x = inputs()
    torch.manual_seed(6)
    out = step((x, x[:, 0]))
    torch.manual_seed(6)
    prior = torch.randn(N, J)

    def d_stage():
        with torch.no_grad():
            z = ref.encoder(x)
        return adv_d(loss, ref.discriminator(prior).view(-1), ref.discriminator(z).view(-1))

    d = check_stage(step.records[:1], ref, d_stage, ["d"])

    def ae_stage():
        logits = ref.discriminator(ref.encoder(x)).view(-1)
        adv = -logits.mean() if loss == "hinge" else -F.logsigmoid(logits).mean()
        terms = {"recon": recon(ref, x, "mean"), "beta*adv": 0.5 * adv}
        return terms["recon"] + terms["beta*adv"], terms

    ae = check_stage(step.records[1:], ref, ae_stage, ["ae"])
    assert_terms_distinct({k: v for k, v in ae.items() if k != "loss"})
    torch.testing.assert_close(step.logs["train/d_loss"], d["loss"])
    torch.testing.assert_close(out, ae["loss"])
    assert_same_params(model, ref)  # D was not moved by the autoencoder step

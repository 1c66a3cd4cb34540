"""SC-GAN's stage 3 (spec scgan.md §2.3) replayed by hand: one optimiser step over both critics on
D_gen(real vs G(eps~, z)) + D_rec(real vs G(E(x), 0)), then G on rec_weight * MSE + adv(D_rec) +
gen_weight * adv(D_gen) + orth_weight * R_orth; the encoder and the latent model stay frozen."""

from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F
from helpers.objectives import ManualStep, assert_same_params, assert_terms_distinct, check_stage, model_yaml

from genexp.models.components.cluster_latents import ClusterLatents, MappingNetworks
from genexp.models.components.contrastive_encoder import ContrastiveEncoder
from genexp.models.scgan import SCGAN
from genexp.nets.factory import data_to_vector
from genexp.nets.scgan_eigen import EigenMLP

N = 12
SGD = functools.partial(torch.optim.SGD, lr=0.01)


DE = 3  # encoder latent size


def scgan() -> SCGAN:
    torch.manual_seed(0)
    model = SCGAN(
        data_shape=(2,),
        generator=functools.partial(EigenMLP, hidden=8, num_layers=2, n_basis=3),
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        encoder=functools.partial(ContrastiveEncoder, hidden=(8,)),
        mappers=functools.partial(MappingNetworks, hidden=(8,)),
        g_optimizer=SGD,
        d_optimizer=SGD,
        num_clusters=2,
        latent_dim=DE,
        latent_model="centers",
        rec_weight=2.0,
        gen_weight=0.5,
        orth_weight=3.0,
        loss="hinge",
    )
    lat: ClusterLatents = model.latents
    with torch.no_grad():
        lat.centers.copy_(torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]))
        lat.stds.fill_(0.1)
        lat.weights.copy_(torch.tensor([0.3, 0.7]))
        for sub in model.generator.subspaces:
            sub.U.mul_(1.3)  # a non-orthogonal basis: the penalty is non-zero
    return model


def orthogonality(generator: EigenMLP) -> torch.Tensor:
    """R_orth = mean_l mean((U_l U_l^T - I)^2) (spec scgan.md §2.3)."""
    return torch.stack(
        [(s.U @ s.U.T - torch.eye(len(s.U))).pow(2).mean() for s in generator.subspaces]
    ).mean()


def test_scgan_steps_train_both_critics_then_g_on_its_four_weighted_terms() -> None:
    model = scgan()
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    real = torch.randn(N, 2, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    step((real, torch.zeros(N, dtype=torch.long)))
    torch.manual_seed(5)
    lat = ref.latents

    def draw_latents() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.multinomial(lat.weights, N, replacement=True)
        eps = lat.centers[idx] + lat.stds[idx] * torch.randn(N, DE)
        return eps, torch.randn(N, 2, 3)  # the generator's per-layer noise

    eps_d, noise_d = draw_latents()
    eps_g, noise_g = draw_latents()
    zero = torch.zeros(N, 2, 3)
    hinge_d = lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean()  # noqa: E731

    def d_stage():
        with torch.no_grad():
            fake, recon = ref.generator(eps_d, noise_d), ref.generator(ref.encoder(real), zero)
        terms = {
            "gen": hinge_d(ref.discriminator(real).view(-1), ref.discriminator(fake).view(-1)),
            "rec": hinge_d(ref.rec_discriminator(real).view(-1), ref.rec_discriminator(recon).view(-1)),
        }
        return terms["gen"] + terms["rec"], terms

    def g_stage():
        recon = ref.generator(ref.encoder(real), zero)
        terms = {
            "2 mse": 2.0 * (recon - real).pow(2).mean(),
            "adv_rec": -ref.rec_discriminator(recon).mean(),
            "0.5 adv_gen": -0.5 * ref.discriminator(ref.generator(eps_g, noise_g)).mean(),
            "3 orth": 3.0 * orthogonality(ref.generator),
        }
        return sum(terms.values()), terms

    d = check_stage(step.records[:1], ref, d_stage, ["d"])
    g = check_stage(step.records[1:], ref, g_stage, ["g"])
    assert_terms_distinct({k: v for k, v in g.items() if k != "loss"})
    torch.testing.assert_close(step.logs["train/d_loss"], d["gen"])
    torch.testing.assert_close(step.logs["train/d_rec_loss"], d["rec"])
    torch.testing.assert_close(step.logs["train/mse"], g["2 mse"] / 2)
    assert_same_params(model, ref)  # the encoder and the latent model stay frozen


def test_scgan_yaml_feeds_the_spec_weights() -> None:
    cfg = model_yaml("scgan")
    assert (cfg["rec_weight"], cfg["gen_weight"], cfg["orth_weight"]) == (1.0, 1.0, 100.0)
    assert cfg["loss"] == "hinge" and cfg["latent_model"] == "mapping"

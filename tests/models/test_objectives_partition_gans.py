"""PGMGAN, its baselines partition_gan and random_partition_gan, and pgmgan_image: every step of the
schedule replayed by hand with the values the shipped YAMLs set (spec pgmgan.md §2.3-2.5): real
parts from the frozen partitioner (or uniform random ids), fakes on the same ids, D's loss on real
vs fake, G's adversarial loss + lambda_t * mean_c ReLU(f_c - f_y) with the linearly annealed
lambda_t; and the guide pulling G's samples into their parts. SC-GAN: test_objectives_scgan.py."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
import torch.nn.functional as F
from helpers.objectives import ManualStep, assert_same_params, assert_terms_distinct, check_stage, model_yaml

from genexp.models.components.partitioner import KMeansPartitioner
from genexp.models.components.scan_partitioner import ScanPartitioner
from genexp.models.pgmgan import PGMGAN
from genexp.nets.pgmgan_conditional import ConditionalMLP
from genexp.nets.pgmgan_maxout import MaxoutMLP
from genexp.nets.pgmgan_projection import ConditionalResNetGenerator, ProjectionDiscriminator

N, K = 12, 4
CENTRES = torch.tensor([[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]])
SGD = functools.partial(torch.optim.SGD, lr=0.01)


def voronoi_partitioner(in_shape, num_parts: int) -> KMeansPartitioner:
    """A linear partitioner whose cells are the Voronoi cells of CENTRES: f_c(x) = c.x - |c|^2 / 2."""
    part = KMeansPartitioner(in_shape, num_parts)
    with torch.no_grad():
        part.net.weight.copy_(CENTRES)
        part.net.bias.copy_(-0.5 * CENTRES.pow(2).sum(1))
    return part


def nearest_centre(x: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x, CENTRES).argmin(1)


def guide_mean(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean_i (1/k) sum_c ReLU(f_c(x_i) - f_{y_i}(x_i)) (the official code's mean form)."""
    return F.relu(logits - logits.gather(1, y[:, None])).mean(1).mean()


def pgmgan(name: str, **overrides) -> PGMGAN:
    cfg = model_yaml(name)
    keys = (
        "labels",
        "guide_weight",
        "guide_anneal_steps",
        "guide_floor",
        "guide_reduction",
        "loss",
        "d_steps",
    )
    torch.manual_seed(0)
    args = dict(
        data_shape=(2,),
        generator=functools.partial(ConditionalMLP, num_classes=K, hidden=(8,), embed_dim=4),
        discriminator=functools.partial(MaxoutMLP, num_classes=K, hidden=(8,), pieces=2),
        partitioner=voronoi_partitioner,
        g_optimizer=SGD,
        d_optimizer=SGD,
        num_partitions=K,
        latent_dim=2,
        rejection_tries=cfg["rejection_tries"],
        **{k: cfg[k] for k in keys},
    )
    args.update(overrides)
    return PGMGAN(**args)


def real_points() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return CENTRES[torch.arange(N) % K] + 0.8 * torch.randn(N, 2, generator=g), torch.zeros(
        N, dtype=torch.long
    )


def test_the_yamls_set_the_spec_guide_and_the_baselines() -> None:
    base, part, rand, image = (
        model_yaml(n) for n in ("pgmgan", "partition_gan", "random_partition_gan", "pgmgan_image")
    )
    assert (base["guide_weight"], base["guide_anneal_steps"], base["guide_floor"]) == (6.0, 50000, 1e-4)
    assert (
        base["guide_reduction"] == "mean"
        and base["labels"] == "partitioner"
        and base["loss"] == "non_saturating"
    )
    assert part["guide_weight"] == 0.0 and part["labels"] == "partitioner"
    assert rand["labels"] == "random" and rand["guide_weight"] == 0.0 and rand["rejection_tries"] == 0
    assert image["loss"] == "hinge" and image["d_steps"] == 4 and image["guide_weight"] == 6.0
    assert image["guide_floor"] == 1e-4 and image["guide_anneal_steps"] == 50000


@pytest.mark.parametrize("name,lam", [("pgmgan", 3.6), ("partition_gan", 0.0), ("random_partition_gan", 0.0)])
def test_pgmgan_family_d_and_g_steps_match_the_hand_built_losses(name: str, lam: float) -> None:
    model = pgmgan(name)
    model.g_updates.fill_(20000)  # lambda_t = 6 (1 - 20000 / 50000) = 3.6
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    real, y0 = real_points()
    torch.manual_seed(5)
    step((real, y0))
    torch.manual_seed(5)
    y = torch.randint(0, K, (N,)) if name == "random_partition_gan" else nearest_centre(real)
    z_d, z_g = torch.randn(N, 2), torch.randn(N, 2)
    if name != "random_partition_gan":
        assert len(set(y.tolist())) == K  # every part is in the batch

    def d_stage():
        with torch.no_grad():
            fake = ref.generator(z_d, y)
        real_l, fake_l = ref.discriminator(real, y).view(-1), ref.discriminator(fake, y).view(-1)
        return -F.logsigmoid(real_l).mean() - F.logsigmoid(-fake_l).mean()

    def g_stage():
        fake = ref.generator(z_g, y)  # the fakes reuse the real batch's ids
        terms = {"adv": -F.logsigmoid(ref.discriminator(fake, y).view(-1)).mean()}
        if lam:
            terms["guide"] = guide_mean(ref.partitioner(fake), y)
        return terms["adv"] + lam * terms.get("guide", 0.0), terms

    d = check_stage(step.records[:1], ref, d_stage, ["d"])
    g = check_stage(step.records[1:], ref, g_stage, ["g"])
    torch.testing.assert_close(step.logs["train/d_loss"], d["loss"])
    torch.testing.assert_close(step.logs["train/g_loss"], g["adv"])
    assert float(step.logs["train/guide_weight"]) == pytest.approx(lam)
    if lam:
        assert_terms_distinct({"adv": g["adv"], "lambda guide": lam * g["guide"]})
        torch.testing.assert_close(step.logs["train/guide"], g["guide"])
    else:
        assert "train/guide" not in step.logs
    assert int(model.g_updates) == 20001
    assert_same_params(model, ref)  # the partitioner never moves


def test_guide_weight_anneals_linearly_to_its_floor_over_generator_steps() -> None:
    model = pgmgan("pgmgan")
    for updates, lam in ((0, 6.0), (12500, 4.5), (49000, 0.12), (50000, 1e-4), (90000, 1e-4)):
        model.g_updates.fill_(updates)
        assert model.guide_weight_now() == pytest.approx(lam)


def test_the_guide_pulls_generated_samples_into_their_part() -> None:
    model = pgmgan("pgmgan", guide_weight=50.0, guide_anneal_steps=0)
    opt = torch.optim.SGD(model.generator.parameters(), lr=0.02)
    g = torch.Generator().manual_seed(3)
    model._cond = torch.arange(64) % K
    z = torch.randn(64, 2, generator=g)
    inside = lambda: float((nearest_centre(model.generator(z, model._cond)) == model._cond).float().mean())  # noqa: E731
    start = inside()
    for _ in range(40):
        opt.zero_grad()
        model.generator_step(64)["loss"].backward()
        opt.step()
    assert start < 0.5 and inside() > 0.9


# -- pgmgan_image ---------------------------------------------------------------------------------

IMG = (1, 8, 8)


def image_model() -> PGMGAN:
    cfg = model_yaml("pgmgan_image")
    torch.manual_seed(0)
    part = functools.partial(ScanPartitioner, backbone=linear_backbone, feature_dim=8)
    model = PGMGAN(
        data_shape=IMG,
        value_range=(-1.0, 1.0),
        generator=functools.partial(
            ConditionalResNetGenerator, num_classes=K, width=8, embed_dim=4, spectral_norm=False
        ),
        discriminator=functools.partial(
            ProjectionDiscriminator, num_classes=K, width=8, blocks=("down", "same"), spectral_norm=False
        ),
        partitioner=part,
        g_optimizer=SGD,
        d_optimizer=SGD,
        num_partitions=K,
        latent_dim=4,
        **{
            k: cfg[k]
            for k in ("labels", "guide_weight", "guide_anneal_steps", "guide_floor", "loss", "d_steps")
        },
    )
    return model


def linear_backbone(in_shape, out_dim: int) -> torch.nn.Module:
    """A stand-in for the invertible backbone (the objective does not depend on it)."""
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(int(torch.tensor(in_shape).prod()), out_dim)
    )


def test_pgmgan_image_makes_four_hinge_d_steps_per_guided_g_step() -> None:
    model = image_model()
    ref = copy.deepcopy(model)
    step = ManualStep(model, ["g", "d"])
    g = torch.Generator().manual_seed(1)
    batches = [torch.rand(N, *IMG, generator=g) * 2 - 1 for _ in range(4)]
    for idx, real in enumerate(batches):
        torch.manual_seed(10 + idx)
        step((real, torch.zeros(N, dtype=torch.long)), idx)
    assert [r.name for r in step.records] == ["d", "d", "d", "d", "g"]
    for idx, real in enumerate(batches):
        torch.manual_seed(10 + idx)
        y = ref.partitioner(real).argmax(1)
        z_d = torch.randn(N, 4)

        def d_stage(real=real, y=y, z_d=z_d):
            with torch.no_grad():
                fake = ref.generator(z_d, y)
            return (
                F.relu(1 - ref.discriminator(real, y)).mean() + F.relu(1 + ref.discriminator(fake, y)).mean()
            )

        check_stage(step.records[idx : idx + 1], ref, d_stage, ["d"], lowers=False)
    z_g = torch.randn(N, 4)

    def g_stage():
        fake = ref.generator(z_g, y)
        terms = {"adv": -ref.discriminator(fake, y).mean(), "guide": guide_mean(ref.partitioner(fake), y)}
        return terms["adv"] + 6.0 * terms["guide"], terms

    assert len(set(y.tolist())) > 1
    out = check_stage(step.records[4:], ref, g_stage, ["g"], lowers=False)
    assert float(out["guide"]) > 0.01
    torch.testing.assert_close(step.logs["train/guide"], out["guide"])
    assert_same_params(model, ref)

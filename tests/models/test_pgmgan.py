"""PGMGAN: guide, SCAN and NT-Xent losses, rejection sampling, nets, partitioner, model, CLI."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from genexp.data.toy_distributions import grid25
from genexp.errors import ConfigError
from genexp.losses.contrastive import nt_xent
from genexp.losses.guide import annealed_weight, guide_distance
from genexp.losses.scan import scan_loss
from genexp.models.components.partitioner import KMeansPartitioner
from genexp.models.pgmgan import PGMGAN, rejection_sample
from genexp.nets.pgmgan_conditional import ConditionalMLP
from genexp.nets.pgmgan_maxout import MaxoutMLP


def test_guide_is_zero_exactly_inside_its_part_and_positive_outside() -> None:
    logits = torch.randn(500, 7, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 7, (500,), generator=torch.Generator().manual_seed(1))
    inside = logits.argmax(1) == y
    for reduction in ("mean", "sum"):
        r = guide_distance(logits, y, reduction)
        assert inside.any() and (~inside).any()
        assert torch.all(r[inside] == 0)
        assert torch.all(r[~inside] > 0)
    assert torch.allclose(guide_distance(logits, y, "sum"), 7 * guide_distance(logits, y, "mean"))
    hand = torch.tensor([[1.0, 3.0, 2.0]])
    assert guide_distance(hand, torch.tensor([0]), "sum").item() == pytest.approx(2.0 + 1.0)


def test_guide_of_a_linear_partitioner_is_zero_on_its_cells() -> None:
    part = KMeansPartitioner((2,), 4)
    x = torch.randn(300, 2)
    cells = part.assign(x)
    assert torch.all(guide_distance(part(x), cells) == 0)
    assert torch.all(guide_distance(part(x), (cells + 1) % 4) > 0)


def test_annealed_weight_schedule() -> None:
    assert annealed_weight(0, 6.0, 50_000, 1e-4) == 6.0
    assert annealed_weight(25_000, 6.0, 50_000, 1e-4) == pytest.approx(3.0)
    assert annealed_weight(10_000, 6.0, 50_000) == pytest.approx(6.0 - 1.2e-4 * 10_000)  # the official slope
    assert annealed_weight(60_000, 6.0, 50_000, 1e-4) == 1e-4
    assert annealed_weight(60_000, 6.0, 0) == 6.0


def test_scan_loss_on_hand_made_probabilities() -> None:
    k = 4
    onehot = torch.eye(k)  # four anchors, one per cluster, neighbours agree: consistent, balanced, confident
    out = scan_loss(onehot, onehot, balance_weight=5.0, entropy_weight=0.0)
    assert out["consistency"].item() == pytest.approx(0.0, abs=1e-6)
    assert out["balance"].item() == pytest.approx(math.log(k), abs=1e-5)
    assert out["confidence"].item() == pytest.approx(0.0, abs=1e-5)
    assert out["loss"].item() == pytest.approx(-5 * math.log(k), abs=1e-4)
    uniform = torch.full((3, k), 1.0 / k)
    out = scan_loss(uniform, uniform, balance_weight=1e-3, entropy_weight=5.0)  # the paper's literal weights
    assert out["consistency"].item() == pytest.approx(math.log(k), abs=1e-5)
    assert out["loss"].item() == pytest.approx(math.log(k) - 1e-3 * math.log(k) + 5 * math.log(k), abs=1e-4)
    collapsed = torch.tensor([[1.0, 0, 0, 0]] * 4)  # all in one cluster: no balance reward
    assert scan_loss(collapsed, collapsed)["loss"].item() > scan_loss(onehot, onehot)["loss"].item()
    disagree = scan_loss(onehot, onehot.roll(1, dims=0))["consistency"]
    assert disagree.item() > 10  # log of the clamped zero dot product


def test_nt_xent_matches_a_direct_computation() -> None:
    g = torch.Generator().manual_seed(0)
    u, v, tau = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g), 0.3
    z = torch.cat([u, v])
    z = z / z.norm(dim=1, keepdim=True)
    n, total = 5, 0.0
    for k in range(2 * n):
        pos = (k + n) % (2 * n)
        sims = {j: float(z[k] @ z[j]) / tau for j in range(2 * n) if j != k}
        total += -(sims[pos] - math.log(sum(math.exp(s) for s in sims.values())))
    assert nt_xent(u, v, tau).item() == pytest.approx(total / (2 * n), rel=1e-5)


def test_rejection_sampling_returns_only_accepted_samples() -> None:
    torch.manual_seed(0)
    y = torch.randint(0, 2, (400,))
    draw = lambda yy: torch.randn(len(yy), 1)  # noqa: E731
    accept = lambda x, yy: (x[:, 0] > 0) == (yy == 1)  # noqa: E731  half of the draws pass
    x, ok = rejection_sample(draw, accept, y, max_tries=30)
    assert ok.all()
    assert torch.all(accept(x, y))
    x, ok = rejection_sample(draw, lambda x, yy: torch.zeros(len(x), dtype=torch.bool), y, max_tries=3)
    assert not ok.any() and x.shape == (400, 1)


def test_maxout_masked_output_and_conditional_generator() -> None:
    d = MaxoutMLP((2,), 1, hidden=(8, 8), pieces=3, num_classes=5)
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 3, 4, 0])
    full = d.head(d.body(x))
    assert torch.allclose(d(x, y)[:, 0], full[torch.arange(6), y])
    g = ConditionalMLP(2, (2,), num_classes=5, hidden=(8,))
    assert g(torch.randn(6, 2), y).shape == (6, 2)
    with pytest.raises(ValueError):
        d(x)


def test_kmeans_partitioner_recovers_the_grid() -> None:
    x = grid25().sample(5000, torch.Generator().manual_seed(0))
    part = KMeansPartitioner((2,), 25, n_points=5000, kmeans_n_init=3, steps=300)
    info = part.fit(x, seed=0)
    assert info["kmeans_agreement"] > 0.99
    assert 0.8 <= info["size_min_rel"] and info["size_max_rel"] <= 1.2
    with pytest.raises(ConfigError):
        KMeansPartitioner((2,), 3, arch="resnet")


def _pgmgan(**kwargs) -> PGMGAN:
    args = dict(
        data_shape=(2,),
        generator=functools.partial(ConditionalMLP, num_classes=4, hidden=(16, 16)),
        discriminator=functools.partial(MaxoutMLP, num_classes=4, hidden=(16,)),
        partitioner=functools.partial(KMeansPartitioner, n_points=400, kmeans_n_init=2, steps=100),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_partitions=4,
        latent_dim=2,
    )
    args.update(kwargs)
    return PGMGAN(**args)


def _blobs(n: int = 400) -> torch.Tensor:
    centres = torch.tensor([[-3.0, -3.0], [-3.0, 3.0], [3.0, -3.0], [3.0, 3.0]])
    return centres[torch.arange(n) % 4] + 0.1 * torch.randn(n, 2)


def test_pgmgan_steps_train_g_and_d_only_and_the_guide_reaches_g() -> None:
    torch.manual_seed(0)
    model = _pgmgan()
    model.prepare_partitioner(_blobs())
    assert torch.allclose(model.part_probs, torch.full((4,), 0.25), atol=0.02)
    real = _blobs(64)
    d_out = model.discriminator_step(real)
    d_out["loss"].backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is None for p in model.partitioner.parameters())
    model.zero_grad()
    g_out = model.generator_step(64)
    assert g_out["guide_weight"].item() == 6.0 and "guide" in g_out
    g_out["guide"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())
    assert all(p.grad is None for p in model.partitioner.parameters())
    assert int(model.g_updates) == 1


def test_pgmgan_samples_use_rejection_in_eval_mode() -> None:
    torch.manual_seed(0)
    model = _pgmgan()
    model.prepare_partitioner(_blobs())
    model.eval()
    x = model.sample(500)
    assert x.shape == (500, 2)
    assert int(model.accepted[1]) == 500
    model.train()
    assert not model.partitioner.training


def test_pgmgan_baselines() -> None:
    rand = _pgmgan(labels="random")
    rand.prepare_partitioner(_blobs())
    assert rand.guide_weight_now() == 0.0
    assert torch.allclose(rand.part_probs, torch.full((4,), 0.25))  # no partitioner fitted
    plain = _pgmgan(
        num_partitions=1,
        guide_weight=0.0,
        generator=functools.partial(ConditionalMLP, num_classes=1, hidden=(16,)),
        discriminator=functools.partial(MaxoutMLP, num_classes=1, hidden=(16,)),
    )
    plain.prepare_partitioner(_blobs())
    assert "guide" not in plain.generator_step(8)
    for bad in ({"labels": "kmeans"}, {"guide_weight": -1.0}, {"rejection_tries": -1}):
        with pytest.raises(ConfigError):
            _pgmgan(**bad)


TINY = [
    "dataset=grid25",
    "dataset.n_train=2000",
    "dataset.n_test=2000",
    "trainer=smoke",
    "logger=none",
    "model.partitioner.n_points=2000",
    "model.partitioner.kmeans_n_init=2",
    "model.partitioner.steps=300",
]


def test_pgmgan_cli_runs_both_stages_and_reuses_the_partitioner(genexp_cli, tmp_path) -> None:
    run = genexp_cli("model=pgmgan", *TINY, "metric=toy2d", "metric.toy2d.n_samples=2000")
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert {"test/modes", "test/hq_pct", "test/reverse_kl", "test/rejection_accept"} <= set(metrics)
    assert metrics["stage/partitioner/kmeans_agreement"] > 0.9
    stage = run.run_dir / "stages" / "partitioner.pt"
    assert stage.exists() and any((run.run_dir / "samples").glob("samples_*.png"))
    again = genexp_cli(
        "model=pgmgan", *TINY, "metric=none", f"model.stages.partitioner={stage}", run_dir=tmp_path / "again"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.metrics()["stage/partitioner/loaded_from"] == str(stage)


@pytest.mark.parametrize("model", ["partition_gan", "random_partition_gan"])
def test_pgmgan_baselines_through_the_cli(genexp_cli, model: str) -> None:
    run = genexp_cli(f"model={model}", *TINY, "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.metrics()["global_step"] == 6


def test_pgmgan_sample_bn_switches_the_generators_batchnorm_statistics() -> None:
    """``sample_bn: eval`` reads G's running statistics, ``train`` the sampling batch's own (and
    leaves the running statistics as they were); rejection redraws run at the full batch size."""
    torch.manual_seed(0)
    model = _pgmgan(rejection_tries=0)
    model.prepare_partitioner(_blobs())
    model.eval()
    bns = [m for m in model.generator.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bns
    before = [(b.running_mean.clone(), b.running_var.clone(), int(b.num_batches_tracked)) for b in bns]

    def draw(mode: str, shift: float) -> torch.Tensor:
        model.sample_bn = mode
        for b, (mean, var, _) in zip(bns, before):
            b.running_mean.copy_(mean + shift)
            b.running_var.copy_(var)
        torch.manual_seed(1)
        return model.sample(200)

    assert not torch.allclose(draw("eval", 0.0), draw("eval", 3.0))  # eval: depends on running stats
    assert torch.equal(draw("train", 0.0), draw("train", 3.0))  # train: does not
    assert not torch.allclose(draw("train", 0.0), draw("eval", 0.0))
    for b, (mean, var, count) in zip(bns, before):  # as the last draw set them (shift 0)
        assert torch.equal(b.running_mean, mean) and torch.equal(b.running_var, var)
        assert int(b.num_batches_tracked) == count
        assert not b.training and b.track_running_stats
    sizes: list[int] = []
    hook = model.generator.register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    model.sample_bn = "train"
    assert model._draw(torch.tensor([0, 1, 2]), 50).shape == (3, 2)
    model.sample_bn = "eval"
    model._draw(torch.tensor([0, 1, 2]), 50)
    hook.remove()
    assert sizes == [50, 3]
    with pytest.raises(ConfigError):
        _pgmgan(sample_bn="frozen")

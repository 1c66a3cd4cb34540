"""Toy distributions and their datamodule: definitions from the specs, seeding, loaders."""

from __future__ import annotations

import math

import pytest
import torch

from genexp.data import base
from genexp.data.base import TensorBatchLoader
from genexp.data.toy2d import Toy2DDataModule
from genexp.data.toy_distributions import DISTRIBUTIONS, make_distribution
from genexp.errors import ConfigError


def draw(name: str, n: int = 20_000, seed: int = 0, **params):
    dist = make_distribution(name, **params)
    x, y = dist.sample_with_labels(n, torch.Generator().manual_seed(seed))
    return dist, x, y


def test_ring8_means_sigma_and_labels():
    dist, x, y = draw("ring8")
    theta = 2 * math.pi * torch.arange(8) / 8
    expected = torch.stack([2 * torch.sin(theta), 2 * torch.cos(theta)], 1)
    assert torch.allclose(dist.means, expected, atol=1e-6)
    assert dist.sigma == 0.01
    assert torch.allclose(dist.means.norm(dim=1), torch.full((8,), 2.0))
    dist_to_own = (x - dist.means[y]).norm(dim=1)
    assert dist_to_own.max() < 6 * dist.sigma
    assert torch.equal(dist.nearest_mode(x)[0], y)
    assert abs((x - dist.means[y]).std().item() - 0.01) < 5e-4


def test_grid25_unscaled_lattice_and_4_sigma():
    dist, x, y = draw("grid25")
    lattice = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(m.tolist()) for m in dist.means} == lattice
    assert dist.sigma == 0.05 and dist.num_classes == 25
    _, d = dist.nearest_mode(x)
    assert (d < 4 * dist.sigma).float().mean() > 0.999
    assert torch.equal(dist.nearest_mode(x)[0], y)
    assert x.abs().max() < 4.5
    # all modes are used, roughly equally
    counts = torch.bincount(y, minlength=25).float()
    assert counts.min() > 0.8 * counts.mean()


def test_gaussian_mixture_log_prob_matches_density():
    dist = make_distribution("ring8")
    x = dist.means[:1]
    expected = -math.log(2 * math.pi * 0.01**2) - math.log(8)
    assert abs(dist.log_prob(x).item() - expected) < 1e-3


def test_eight_gaussians_ffjord_statistics():
    dist, x, _y = draw("eight_gaussians", n=50_000)
    assert abs(dist.sigma - 0.5 / 1.414) < 1e-9
    assert torch.allclose(dist.means.norm(dim=1), torch.full((8,), 4 / 1.414), atol=1e-5)
    var = x.var(dim=0)
    assert torch.allclose(var, torch.full((2,), 4.13), atol=0.08)
    adjacent = (dist.means[0] - dist.means[4]).norm().item()
    assert abs(adjacent - 2.17) < 0.01


def test_checkerboard_all_on_support():
    dist, x, _ = draw("checkerboard", n=50_000)
    assert dist.on_support(x).all()
    assert torch.allclose(x.var(dim=0), torch.full((2,), 16 / 3), atol=0.1)
    off = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [3.0, 1.0], [4.5, 0.5]])
    on = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [3.0, 3.0], [-3.0, 1.0]])
    assert not dist.on_support(off).any()
    assert dist.on_support(on).all()


def test_two_spirals_four_circles_abs_sinewave():
    _, x, y = draw("two_spirals", n=50_000)
    assert set(y.unique().tolist()) == {0, 1}
    assert torch.allclose(x.var(dim=0), torch.full((2,), 2.55), atol=0.15)

    dist, x, y = draw("four_circles")
    radius = (x + dist.centers[y]).norm(dim=1)
    assert abs(radius.mean().item() - 2.0) < 0.01 and abs(radius.std().item() - 0.1) < 0.01

    _, x, y = draw("abs")
    assert y is None
    resid = x[:, 1] - (x[:, 0].abs() - 1)
    assert abs(resid.std().item() - math.exp(-1.5)) < 0.01

    _, x, _ = draw("sinewave")
    resid = x[:, 1] - torch.sin(5 * x[:, 0])
    assert abs(resid.std().item() - math.exp(-1.0)) < 0.01


def test_swiss_roll_noise_free_and_1d_zscored():
    dist, x, _ = draw("swiss_roll")
    r = x.norm(dim=1)
    assert r.min() >= 1.5 * math.pi - 1e-4 and r.max() <= 4.5 * math.pi + 1e-4
    # no noise: each point is exactly f(theta) with theta = its radius
    assert torch.allclose(dist.curve(r), x, atol=1e-4)

    dist1, z, _ = draw("swiss_roll_1d")
    assert z.shape == (20_000, 1) and dist1.dim == 1
    assert abs(z.mean().item()) < 0.03 and abs(z.std().item() - 1) < 0.02
    assert z.abs().max() <= math.sqrt(3) + 1e-5
    pts = dist1.to_curve(z)
    assert pts.shape == (20_000, 2)
    assert torch.allclose(pts.norm(dim=1), z[:, 0] * dist1.std + dist1.mean, atol=1e-4)


def test_uniforms_zscored():
    _, x, y = draw("uniform_square")
    assert y is None
    assert x.mean(0).abs().max() < 0.03 and (x.std(0) - 1).abs().max() < 0.02
    assert x.abs().max() <= math.sqrt(3) + 1e-5
    _, x, y = draw("two_uniforms")
    assert x.mean(0).abs().max() < 0.03 and (x.std(0) - 1).abs().max() < 0.02
    assert set(y.unique().tolist()) == {0, 1}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_sampling_is_seeded(name):
    dist = make_distribution(name)
    a = dist.sample(100, torch.Generator().manual_seed(5))
    b = dist.sample(100, torch.Generator().manual_seed(5))
    c = dist.sample(100, torch.Generator().manual_seed(6))
    assert a.shape == (100, dist.dim) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_params_override_and_bad_names():
    assert make_distribution("ring8", sigma=0.02).sigma == 0.02
    with pytest.raises(ConfigError, match="unknown toy distribution"):
        make_distribution("ring9")
    with pytest.raises(ConfigError, match="bad parameters"):
        make_distribution("abs", sigma=1.0)


def test_datamodule_splits_attributes_and_reproducibility():
    dm = Toy2DDataModule("ring8", n_train=1000, n_val=200, n_test=300, batch_size=100, seed=3)
    assert dm.kind == "points" and dm.shape == (2,) and dm.num_classes == 8 and dm.value_range is None
    assert dm.name == "ring8" and dm.distribution.sigma == 0.01
    x_tr, y_tr = dm.get_data("train")
    x_va, _ = dm.get_data("val")
    x_te, _ = dm.get_data("test", n=50)
    assert (
        x_tr.shape == (1000, 2) and y_tr.shape == (1000,) and x_va.shape == (200, 2) and x_te.shape == (50, 2)
    )
    assert not torch.equal(x_va[:200], x_tr[:200]) and not torch.equal(x_te, x_va[:50])
    again = Toy2DDataModule("ring8", n_train=1000, n_val=200, n_test=300, seed=3)
    assert torch.equal(again.get_data("train")[0], x_tr)
    other = Toy2DDataModule("ring8", n_train=1000, n_val=200, n_test=300, seed=4)
    assert not torch.equal(other.get_data("train")[0], x_tr)
    # a seed's val set is not the next seed's train set
    assert not torch.equal(other.get_data("train")[0][:200], x_va)
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (100, 2) and yb.shape == (100,)
    assert len(dm.train_dataloader()) == 10


def test_datamodule_unlabelled_yields_minus_one_and_checks_config():
    dm = Toy2DDataModule("checkerboard", n_train=64, n_val=8, n_test=8, batch_size=32)
    assert dm.num_classes is None and dm.get_data("train")[1] is None
    _, yb = next(iter(dm.train_dataloader()))
    assert (yb == -1).all()
    assert Toy2DDataModule("swiss_roll_1d", n_train=10, n_val=2, n_test=2).shape == (1,)
    with pytest.raises(ConfigError, match="shape"):
        Toy2DDataModule("swiss_roll_1d", shape=[2])
    with pytest.raises(ConfigError, match="num_classes"):
        Toy2DDataModule("ring8", num_classes=10)
    with pytest.raises(ConfigError, match="n_val"):
        Toy2DDataModule("ring8", n_val=0)


def test_batch_loader_shards_under_fake_world_size(monkeypatch):
    x = torch.arange(103).float()[:, None]
    shards = []
    for rank in range(2):
        monkeypatch.setattr(base, "_rank_and_world", lambda r=rank: (r, 2))
        loader = TensorBatchLoader(x, batch_size=10, shuffle=True, seed=7)
        loader.set_epoch(2)
        batches = [xb[:, 0].long() for xb, _ in loader]
        assert len(batches) == len(loader) == 5  # 51 per rank, drop_last
        shards.append(torch.cat(batches))
    assert len(shards[0]) == len(shards[1]) == 50
    assert not set(shards[0].tolist()) & set(shards[1].tolist())
    # the permutation is a function of (seed, epoch): the same on every rank
    monkeypatch.setattr(base, "_rank_and_world", lambda: (0, 2))
    loader = TensorBatchLoader(x, batch_size=10, shuffle=True, seed=7)
    loader.set_epoch(2)
    assert torch.equal(torch.cat([xb[:, 0].long() for xb, _ in loader]), shards[0])


def test_eval_loader_under_fake_world_size(monkeypatch):
    monkeypatch.setattr(base, "_rank_and_world", lambda: (1, 2))
    dm = Toy2DDataModule("grid25", n_train=100, n_val=40, n_test=40, batch_size=10, eval_batch_size=8)
    seen = torch.cat([xb for xb, _ in dm.val_dataloader()])
    assert torch.equal(seen, dm.get_data("val")[0][20:40])

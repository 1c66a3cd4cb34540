"""GTN: the pairing (1-D sort, greedy cosine with tie tolerance, one-to-one, the vectorised blocks
equal the literal loop), the regressor, and GTN end to end through the CLI."""

from __future__ import annotations

import math

import pytest
import torch
from helpers.cli import has_mnist

from genexp.models.components.gtn_pairing import greedy_cosine_pairing, pair, pairing_stats
from genexp.nets.gtn_mlp import GTNMLP


def literal_pairing(y: torch.Tensor, x: torch.Tensor, tie_tol: float) -> torch.Tensor:
    """Algorithm 1 point by point (the reference for the blocked implementation)."""
    y_order = torch.argsort(y.norm(dim=1), stable=True)
    x_order = torch.argsort(x.norm(dim=1), stable=True)
    u = torch.nn.functional.normalize(x[x_order].float(), dim=1, eps=1e-6)
    available = list(range(len(x)))
    match = torch.empty(len(y), dtype=torch.long)
    for i in y_order.tolist():
        v = torch.nn.functional.normalize(y[i].float(), dim=0, eps=1e-6)
        cos = u[available] @ v
        k = int(torch.argmax((cos >= cos.max() - tie_tol).to(torch.uint8)))
        match[i] = x_order[available.pop(k)]
    return match


def test_1d_pairing_is_sort_order() -> None:
    gen = torch.Generator().manual_seed(0)
    y, x = torch.randn(50, 1, generator=gen), torch.rand(50, 1, generator=gen) * 10 - 3
    match = pair(y, x)
    order = torch.argsort(y[:, 0])
    assert torch.all(x[match][order, 0].diff() >= 0)


def test_ties_go_to_the_smaller_norm_with_tolerance() -> None:
    x = torch.tensor([[2.0, 0.0], [1.0, 0.001]])
    y = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    assert greedy_cosine_pairing(y, x, tie_tol=0.0).tolist() == [0, 1]  # literal: the best cosine wins
    assert greedy_cosine_pairing(y, x, tie_tol=1e-3).tolist() == [1, 0]  # within tau: the smaller norm


@pytest.mark.parametrize("tie_tol", [0.0, 0.05])
@pytest.mark.parametrize("dim", [2, 5])
def test_blocked_pairing_equals_literal_loop_and_is_one_to_one(tie_tol: float, dim: int) -> None:
    gen = torch.Generator().manual_seed(dim)
    x = torch.randn(120, dim, generator=gen) * torch.rand(120, 1, generator=gen)
    y = torch.randn(120, dim, generator=gen)
    match = greedy_cosine_pairing(y, x, tie_tol=tie_tol, block=7)
    assert sorted(match.tolist()) == list(range(120))
    assert torch.equal(match, literal_pairing(y, x, tie_tol))


def test_pairing_stats_and_tolerance_restores_radial_order() -> None:
    gen = torch.Generator().manual_seed(3)
    x, y = torch.rand(2000, 2, generator=gen) - 0.5, torch.randn(2000, 2, generator=gen)
    loose = pairing_stats(y, x[pair(y, x, 1e-2)])
    assert loose["spearman_norms"] > 0.95
    assert pairing_stats(y, x[pair(y, x, 0.0)])["spearman_norms"] < loose["spearman_norms"]


def test_gtn_mlp_layout() -> None:
    net = GTNMLP(5, 5, width=8, n_linear=4, bn_layers=2)
    kinds = [type(m).__name__ for m in net.net]
    assert kinds == [
        "Linear",
        "LeakyReLU",
        "BatchNorm1d",
        "Linear",
        "LeakyReLU",
        "BatchNorm1d",
        "Linear",
        "LeakyReLU",
        "Linear",
    ]
    assert net.net[1].negative_slope == 0.5


@pytest.mark.parametrize("dataset", ["swiss_roll_1d", "uniform_square"])
def test_gtn_end_to_end_caches_pairs(genexp_cli, dataset: str) -> None:
    args = (
        "model=gtn",
        f"dataset={dataset}",
        "trainer=smoke",
        "logger=none",
        "metric=none",
        "dataset.n_train=600",
        "dataset.n_val=200",
        "dataset.n_test=200",
        "model.tie_tol=0.01",
    )
    run = genexp_cli(*args)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert metrics["test/loss"] > 0
    assert "stage/pairs/train_spearman_norms" in metrics and "stage/pairs/val_mean_cosine" in metrics
    saved = torch.load(run.run_dir / "stages" / "pairs.pt", weights_only=False)
    assert set(saved["tensors"]["pairs"]) == {"train", "val", "test"}


def test_latent_gtn_stages_are_reusable(genexp_cli) -> None:
    base = (
        "model=latent_gtn",
        "dataset=digits",
        "trainer=smoke",
        "logger=none",
        "metric=none",
        "model.standardize=true",
        "model.autoencoder.encoder.hidden=[32]",
        "model.autoencoder.decoder.hidden=[32]",
    )
    first = genexp_cli(*base, "model.ae_epochs=1")
    assert first.returncode == 0, first.stderr[-3000:]
    ae, pairs = first.run_dir / "stages" / "autoencoder.pt", first.run_dir / "stages" / "pairs.pt"
    assert ae.exists() and pairs.exists()
    again = genexp_cli(*base, f"model.stages.autoencoder={ae}", f"model.stages.pairs={pairs}")
    assert again.returncode == 0, again.stderr[-3000:]
    metrics = again.metrics()
    assert metrics["stage/pairs/loaded_from"] == str(pairs)  # the saved pairs were reused
    assert metrics["stage/autoencoder/loaded_from"] == str(ae)
    assert metrics["test/loss"] == pytest.approx(first.metrics()["test/loss"], rel=1e-5)


GTN4_SMOKE = (
    "trainer=smoke",
    "logger=none",
    "callbacks=none",
    "dataset.n_train=512",
    "metric.memorisation.n_samples=200",
    "metric.memorisation.n_reference=300",
    *[
        f"metric.fd_classifier.{k}={v}"
        for k, v in (("n_samples", 200), ("n_reference", 200), ("max_train", 512), ("epochs", 1))
    ],
)


@pytest.mark.slow
@pytest.mark.skipif(not has_mnist(), reason="MNIST not prepared (make assets)")
@pytest.mark.parametrize("experiment,latent", [("gtn_mnist_cpu", True), ("vae_mnist_conv_cpu", False)])
def test_gtn4_experiments_report_fd_classifier_and_memorisation(
    genexp_cli, experiment: str, latent: bool
) -> None:
    extra = ("model.ae_epochs=1",) if latent else ()
    run = genexp_cli(f"experiment={experiment}", *GTN4_SMOKE, *extra)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    keys = [
        "fd_classifier",
        "memorisation_ratio",
        "nn_train_dist",
        "nn_test_dist",
        "memorisation_frac_closer_train",
    ]
    keys += [f"latent_{k}" for k in keys[1:]] if latent else []
    for key in keys:
        assert math.isfinite(metrics[f"test/{key}"]), key
    assert ("test/latent_memorisation_ratio" in metrics) == latent
    assert metrics["test/memorisation_protocol"]["n_reference"] == 300

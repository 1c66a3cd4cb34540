"""GEN with a Gaussian-mixture target: the bandwidth search on the mixture, the semi-supervised
label term against hand-computed values, and both GEN measurements (component accuracy with the
code scatter; novelty AUROC) through a short in-process run."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from helpers.trainers import bare_trainer

from genexp.callbacks.anomaly_metrics import AnomalyMetrics
from genexp.callbacks.mixture_metrics import MixtureAssignmentMetrics
from genexp.data.digits import DigitsDataModule
from genexp.errors import ConfigError
from genexp.models.gen import GEN
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.priors.gmm import GMMPrior
from genexp.priors.normal import NormalPrior
from genexp.run_record import run_record


def fixed_gmm(dim: int, k: int, **kwargs) -> GMMPrior:
    return GMMPrior(dim, k, learn_means=False, learn_logvars=False, **kwargs)


def small_gen(prior, latent_dim: int = 2, **kwargs) -> GEN:
    return GEN(
        data_shape=[1, 8, 8],
        encoder=partial(data_to_vector, arch="mlp", hidden=[32]),
        decoder=partial(vector_to_data, arch="mlp", hidden=[32]),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        latent_dim=latent_dim,
        prior=prior,
        value_range=[0.0, 1.0],
        **kwargs,
    )


def test_mixture_bandwidth_scales_with_the_components() -> None:
    """J(h) of a target scaled by s at bandwidth s·h equals J(h) of the unscaled target, so the
    search on a one-component mixture of std s finds s times the unit-variance h (same draws);
    the unit h matches paper Table 1 (l = 2, m = 500: 0.41 ± 0.04)."""
    hs = {}
    for s in (1.0, 0.1):
        model = small_gen(
            fixed_gmm(2, 1, init="normal", mean_scale=0.0, init_logvar=2 * math.log(s)),
            kde_size=500,
            bandwidth_eval=500,
            bandwidth_trials=1,
        )
        torch.manual_seed(3)
        hs[s] = model.compute_bandwidth()
    assert hs[0.1] == pytest.approx(0.1 * hs[1.0], abs=1e-3)
    assert 0.33 < hs[1.0] < 0.49


def test_label_term_against_hand_computed_values() -> None:
    """Two components at (±1, 0) with variance 0.25; rows labelled 0, 1 and unlabelled (-1)."""
    prior = fixed_gmm(2, 2, init="circle", mean_scale=1.0, init_logvar=math.log(0.25))
    torch.testing.assert_close(prior.means, torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), atol=1e-6, rtol=0)
    z = torch.tensor([[0.0, 0.0], [0.5, 0.3], [2.0, 2.0]])
    y = torch.tensor([0, 1, -1])

    def sq(i: int, k: int) -> float:
        return float((z[i] - prior.means[k]).pow(2).sum())

    # -log p(k = y | z) for equal weights: log(1 + exp((|z - mu_y|² - |z - mu_other|²) / (2 * 0.25)))
    ce = [
        math.log1p(math.exp((sq(0, 0) - sq(0, 1)) / 0.5)),
        math.log1p(math.exp((sq(1, 1) - sq(1, 0)) / 0.5)),
    ]
    nll = [sq(0, 0) / 0.5 + math.log(2 * math.pi * 0.25), sq(1, 1) / 0.5 + math.log(2 * math.pi * 0.25)]
    for kind, per_row in (("responsibility", ce), ("component", nll)):
        model = small_gen(prior, label_weight=3.0, label_loss=kind)
        assert float(model.label_term(z, y)) == pytest.approx(3.0 * sum(per_row) / 2, rel=1e-5)
    # a descent step moves a mislabelled code towards its class's component
    zz = torch.zeros(1, 2, requires_grad=True)
    small_gen(prior, label_weight=1.0).label_term(zz, torch.tensor([1])).backward()
    assert float(zz.grad[0, 0]) > 0 and abs(float(zz.grad[0, 1])) < 1e-7
    assert small_gen(prior).label_term(z, y) is None  # label_weight 0: unsupervised


def test_label_weight_needs_a_mixture_target() -> None:
    with pytest.raises(ConfigError, match="gmm_fixed"):
        small_gen(NormalPrior(2), label_weight=1.0)
    with pytest.raises(ConfigError, match="circle"):
        fixed_gmm(1, 3, init="circle")


def test_semi_supervised_run_records_component_accuracy_and_scatter(tmp_path) -> None:
    dm = DigitsDataModule(seed=0, value_range=[0.0, 1.0], batch_size=64, labelled=300)
    prior = fixed_gmm(2, 10, init="circle", mean_scale=2.0, init_logvar=math.log(0.05))
    model = small_gen(prior, kde_size=500, bandwidth=0.1, label_weight=1.0)
    callback = MixtureAssignmentMetrics(n_plot=200)
    trainer = bare_trainer(tmp_path, [callback], max_steps=4, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm, verbose=False)
    results = run_record(trainer).results
    x, y = dm.get_data("test")
    model.eval()
    with torch.no_grad():
        pred = prior.responsibilities(model.encode(x)).argmax(1)
    assert results["test/component_acc"] == pytest.approx(float((pred == y).double().mean()))
    assert results["test/mixture_protocol"]["n"] == len(y) == 297
    assert (tmp_path / "samples" / "latent_scatter.png").stat().st_size > 0


def test_novelty_run_with_a_held_out_digit(tmp_path) -> None:
    dm = DigitsDataModule(seed=0, value_range=[0.0, 1.0], batch_size=64, outlier_classes=[3])
    model = small_gen(NormalPrior(3), latent_dim=3, kde_size=500, bandwidth=0.5)
    trainer = bare_trainer(tmp_path, [AnomalyMetrics()], max_steps=4, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm, verbose=False)
    results = run_record(trainer).results
    y_test = dm.get_data("test")[1]
    assert results["test/anomaly_protocol"]["n_outliers"] == int((y_test == 3).sum()) > 0
    assert 0.0 <= results["test/auroc"] <= 1.0
    x_train = dm.get_data("train")[0]
    with torch.no_grad():
        mse = float((model.reconstruct(x_train) - x_train).pow(2).mean())
    assert results["novelty_sigma2"] == pytest.approx(mse, rel=1e-5)

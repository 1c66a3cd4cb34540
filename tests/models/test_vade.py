"""VaDE: the closed-form KL against Monte Carlo, the stages and their checkpoints, the CLI."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genexp.data.digits import DigitsDataModule
from genexp.errors import ConfigError
from genexp.losses.clustering import vade_kl
from genexp.losses.gaussian import diag_gaussian_log_prob
from genexp.models.components.gmm_init import fit_gmm_restarts
from genexp.models.components.lr_schedules import StepDecayWithFloor
from genexp.models.vade import VaDE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.priors import GMMPrior, NormalPrior


def test_vade_kl_matches_a_monte_carlo_estimate() -> None:
    g = torch.Generator().manual_seed(0)
    n, k, j, s = 3, 4, 5, 400_000
    mu, logvar = torch.randn(n, j, generator=g), 0.5 * torch.randn(n, j, generator=g)
    means, logvars = 2 * torch.randn(k, j, generator=g), 0.3 * torch.randn(k, j, generator=g)
    log_w = torch.log_softmax(torch.randn(k, generator=g), 0)
    gamma = torch.softmax(torch.randn(n, k, generator=g), 1)
    closed = vade_kl(mu, logvar, gamma, means, logvars, log_w)
    # E_{q(z|x) q(y|x)}[log q(z|x) + log q(y|x) - log p(y) - log p(z|y)], z by Monte Carlo, y summed
    z = mu[:, None] + (0.5 * logvar).exp()[:, None] * torch.randn(n, s, j, generator=g)
    log_q = diag_gaussian_log_prob(z, mu[:, None], logvar[:, None])  # n, s
    log_pz = torch.stack([diag_gaussian_log_prob(z, means[c], logvars[c]) for c in range(k)], -1)  # n, s, k
    mc = (log_q - (gamma[:, None] * log_pz).sum(-1)).mean(1) + (gamma * (gamma.log() - log_w)).sum(1)
    assert torch.allclose(closed, mc, rtol=0, atol=0.05), (closed, mc)


def test_vade_kl_is_the_vae_kl_for_one_standard_component() -> None:
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3) * 0.3
    kl = vade_kl(mu, logvar, torch.ones(4, 1), torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1))
    ref = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    assert torch.allclose(kl, ref, atol=1e-5)


def _vade(**kwargs) -> VaDE:
    args = dict(
        data_shape=(1, 8, 8),
        value_range=(0.0, 1.0),
        latent_dim=2,
        likelihood="bernoulli",
        encoder=functools.partial(data_to_vector, arch="mlp", hidden=(16,)),
        decoder=functools.partial(vector_to_data, arch="mlp", hidden=(16,)),
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        prior=functools.partial(GMMPrior, num_components=3, learn_weights=True),
    )
    args.update(kwargs)
    return VaDE(**args)


def test_vade_pretraining_is_a_plain_autoencoder_and_joint_training_the_elbo() -> None:
    torch.manual_seed(0)
    model = _vade(pretrain_epochs=2)
    x = torch.rand(5, 1, 8, 8)
    assert torch.allclose(model.pretrain_loss(x), model.nll(x, model.decoder(model.encode(x))).mean())
    parts = model.losses(x)
    assert float(parts["reg"].detach()) != 0.0 and math.isfinite(float(parts["loss"].detach()))
    assert model.cluster(x).shape == (5,) and int(model.cluster(x).max()) < 3


def test_vade_rejects_a_non_mixture_prior_and_an_unknown_stage(tmp_path) -> None:
    with pytest.raises(ConfigError, match="Gaussian-mixture prior"):
        _vade(prior=functools.partial(NormalPrior))
    with pytest.raises(ConfigError, match="model.stages.pretrian is not a stage"):
        _vade(stages={"pretrian": str(tmp_path / "x.pt")})


def test_denoising_pretraining_masks_pixels_to_the_background_and_keeps_the_clean_target() -> None:
    torch.manual_seed(0)
    x = 0.1 + 0.9 * torch.rand(400, 1, 8, 8)  # no background (0) pixel
    model = _vade(pretrain_noise=0.3)
    noisy = model.corrupt(x)
    masked = noisy == 0.0
    assert 0.27 < float(masked.float().mean()) < 0.33 and torch.equal(noisy[~masked], x[~masked])
    assert _vade().corrupt(x) is x
    torch.manual_seed(1)
    loss = model.pretrain_loss(x)
    torch.manual_seed(1)
    ref = model.nll(x, model.decoder(model.encode(model.corrupt(x)))).mean()  # clean x is the target
    assert torch.allclose(loss, ref)
    with pytest.raises(ConfigError, match="pretrain_noise"):
        _vade(pretrain_noise=1.0)
    with pytest.raises(ConfigError, match="gmm_restarts"):
        _vade(gmm_restarts=0)


def test_mse_pretraining_sums_squared_errors_of_the_decoded_mean_on_the_unit_scale() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 1, 8, 8) * 2 - 1  # data in [-1, 1]
    model = _vade(value_range=(-1.0, 1.0), pretrain_loss="mse")
    mean01 = torch.sigmoid(model.decoder(model.encode(x)))  # Bernoulli decoder: logits -> [0, 1]
    ref = ((mean01 - (x + 1) / 2) ** 2).sum(dim=(1, 2, 3)).mean()
    assert torch.allclose(model.pretrain_loss(x), ref)
    # a perfect reconstruction costs nothing, a wrong one costs a known amount
    half = torch.full((2, 1, 8, 8), 0.5)

    class Zeros(torch.nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.zeros(len(z), 1, 8, 8)  # sigmoid(0) = 0.5 on the unit scale

    model.decoder = Zeros()
    assert float(model.pretrain_loss(torch.zeros(2, 1, 8, 8))) == 0.0  # 0 in [-1, 1] is 0.5
    assert float(model.pretrain_loss(half * 0 - 1)) == pytest.approx(64 * 0.25)
    with pytest.raises(ConfigError, match="pretrain_loss"):
        _vade(pretrain_loss="l1")
    with pytest.raises(ConfigError, match="pretrain_lr"):
        _vade(pretrain_lr=0.0)


def test_pretraining_uses_its_own_learning_rate_when_given(monkeypatch) -> None:
    import genexp.models.vade as vade_module

    seen = {}

    def fake_fit(loss_fn, optimizer, x, batch_size, epochs, device):
        seen["lr"] = optimizer.param_groups[0]["lr"]
        return {"steps": 0}

    monkeypatch.setattr(vade_module, "fit_loss", fake_fit)
    monkeypatch.setattr(vade_module, "train_tensor", lambda trainer: torch.rand(4, 1, 8, 8))
    for lr, want in ((None, 1e-3), (3e-4, 3e-4)):
        model = _vade(pretrain_lr=lr)
        monkeypatch.setattr(model, "labelled_codes", lambda: (torch.zeros(4, 2), None))
        model._trainer = SimpleNamespace(datamodule=SimpleNamespace(batch_size=4))
        model.pretrain()
        assert seen["lr"] == pytest.approx(want)


def test_stages_log_the_pretrained_and_initial_accuracy_and_copy_the_most_likely_gmm() -> None:
    torch.manual_seed(0)
    dm = DigitsDataModule(image_size=8, batch_size=64, value_range=(0.0, 1.0), seed=0)
    prior = functools.partial(GMMPrior, num_components=10, learn_weights=True)
    model = _vade(latent_dim=4, prior=prior, pretrain_epochs=2, gmm_restarts=3, kmeans_n_init=2)
    model._trainer = SimpleNamespace(datamodule=dm)
    pre = model.pretrain()
    assert pre["steps"] == 2 * math.ceil(1500 / 64) and pre["loss_last"] < pre["loss_first"]
    assert 0.1 < pre["kmeans_acc"] <= pre["kmeans_purity"] <= 1.0 and pre["kmeans_smallest_frac"] > 0
    init = model.fit_gmm_prior()
    codes, labels = model.labelled_codes()
    ref = fit_gmm_restarts(codes, 10, restarts=3, kmeans_n_init=2, seed=0)
    assert init["gmm_starts"] == 3 and init["gmm_best_start"] == ref.best
    assert init["gmm_loglik"] == pytest.approx(max(ref.logliks))
    assert init["gmm_loglik_worst"] == pytest.approx(min(ref.logliks))
    assert np.allclose(model.prior.means.detach().numpy(), ref.means, atol=1e-5)
    assert np.allclose(model.prior.logvars.detach().exp().numpy(), ref.variances, rtol=1e-5)
    assert torch.allclose(model.prior.weights, torch.full((10,), 0.1))  # uniform (official)
    pred = model.cluster(dm.get_data("train")[0])
    assert init["init_smallest_frac"] == pytest.approx(float(torch.bincount(pred, minlength=10).min()) / 1500)
    assert 0.1 < init["init_acc"] <= init["init_purity"] <= 1.0 and labels is not None


def test_joint_training_decays_the_learning_rate_per_epoch() -> None:
    sched = functools.partial(StepDecayWithFloor, step_size=1, gamma=0.5, min_lr=2e-4)
    config = _vade(scheduler=sched).configure_optimizers()
    assert config["lr_scheduler"]["interval"] == "epoch"
    opt, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    opt.step()
    scheduler.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(5e-4) and scheduler.optimizer is opt
    assert isinstance(_vade().configure_optimizers(), torch.optim.Adam)


TINY = [
    "model=vade",
    "dataset=digits",
    "model.encoder.hidden=[32]",
    "model.decoder.hidden=[32]",
    "trainer=cpu",
    "trainer.limit_train_batches=3",
    "logger=none",
    "metric=clustering",
]


def test_vade_stages_from_one_command_and_restart_from_a_stage_checkpoint(genexp_cli) -> None:
    run = genexp_cli(*TINY, "trainer.max_epochs=2", "model.pretrain_epochs=1")
    assert run.returncode == 0, run.stderr[-3000:]
    stages = run.run_dir / "stages"
    assert (stages / "pretrain.pt").exists() and (stages / "gmm_init.pt").exists()
    state = torch.load(run.run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert state["stages_done"].tolist() == [True, True]
    m = run.metrics()
    assert m["stage/pretrain/steps"] == math.ceil(1500 / 64)  # one epoch of the 1500 training digits
    assert math.isfinite(m["stage/gmm_init/gmm_loglik"])
    assert {
        "test/cluster_acc",
        "test/cluster_purity",
        "test/cluster_nmi",
        "test/cluster_ari",
        "test/elbo",
    } <= set(m)
    # a later run starts from the GMM-initialised stage: no pretraining, no second GMM fit
    again = genexp_cli(
        *TINY,
        "trainer.max_epochs=1",
        "model.pretrain_epochs=1",
        f"model.stages.pretrain={stages / 'pretrain.pt'}",
        f"model.stages.gmm_init={stages / 'gmm_init.pt'}",
        run_dir=run.run_dir.parent / "again",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    m2 = again.metrics()
    assert m2["stage/pretrain/loaded_from"].endswith("pretrain.pt") and "stage/pretrain/loss_first" in m2
    assert m2["stage/gmm_init/gmm_loglik"] == m["stage/gmm_init/gmm_loglik"]  # loaded, not refitted
    assert m2["test/reg"] != 0.0

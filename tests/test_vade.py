"""VaDE: the closed-form KL against Monte Carlo, the stages and their checkpoints, the CLI."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from genexp.errors import ConfigError
from genexp.losses.clustering import vade_kl
from genexp.losses.gaussian import diag_gaussian_log_prob
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
    parts = model.losses(x)
    assert model.in_pretraining and float(parts["reg"]) == 0.0
    assert torch.allclose(parts["loss"], model.nll(x, model.decoder(model.encode(x))).mean())
    model.joint_stage.fill_(1)
    parts = model.losses(x)
    assert float(parts["reg"].detach()) != 0.0 and math.isfinite(float(parts["loss"].detach()))
    assert model.cluster(x).shape == (5,) and int(model.cluster(x).max()) < 3


def test_vade_rejects_a_non_mixture_prior_and_a_missing_stage_checkpoint(tmp_path) -> None:
    with pytest.raises(ConfigError, match="Gaussian-mixture prior"):
        _vade(prior=functools.partial(NormalPrior))
    with pytest.raises(ConfigError, match="no such checkpoint"):
        _vade(init_from=str(tmp_path / "missing.ckpt"))


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
    ckpts = run.run_dir / "checkpoints"
    assert (ckpts / "vade_pretrained.ckpt").exists() and (ckpts / "vade_gmm_init.ckpt").exists()
    state = torch.load(ckpts / "vade_gmm_init.ckpt", weights_only=False)["state_dict"]
    assert int(state["joint_stage"]) == 1 and int(state["pretrained_epochs"]) == 1
    m = run.metrics()
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
        f"model.init_from={ckpts / 'vade_gmm_init.ckpt'}",
        run_dir=run.run_dir.parent / "again",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert not (again.run_dir / "checkpoints" / "vade_gmm_init.ckpt").exists()
    assert again.metrics()["test/reg"] != 0.0

"""MPCC / AIM / AIM-MPCC: losses on hand-made tensors, the prior, the nets, the step schedule, the
checkpoint round trip and the CLI (share_encoder both ways)."""

from __future__ import annotations

import functools
import math

import lightning as L
import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from genexp.data.digits import DigitsDataModule
from genexp.errors import ConfigError
from genexp.losses.clustering import cluster_cross_entropy, component_entropy_loss, encoder_nll_per_dim
from genexp.models.aim_mpcc import AIMMPCC
from genexp.models.mpcc import MPCC
from genexp.nets.mpcc_generators import ConditionalMLPGenerator, ConditionalResNetGenerator
from genexp.nets.mpcc_latent_injection import LatentInjection
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder, resnet_critic, resnet_encoder
from genexp.priors.floored_gmm import FlooredGMMPrior

# -- losses ---------------------------------------------------------------------------------------


def test_encoder_nll_is_the_gaussian_nll_divided_by_the_data_dimension() -> None:
    z = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    mu = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    c = math.log(2 * math.pi)
    row0 = 0.5 * (1.0 + c) + 0.5 * (4.0 / 4.0 + math.log(4.0) + c)
    row1 = 0.5 * c + 0.5 * (1.0 + c)
    assert float(encoder_nll_per_dim(z, mu, logvar, data_dim=784)) == pytest.approx(
        (row0 + row1) / 2 / 784, rel=1e-6
    )


def test_cluster_cross_entropy_is_a_stable_log_sum_exp() -> None:
    log_joint = torch.tensor([[-1000.0, -1001.0, -1003.0], [5.0, 2.0, 800.0]])
    y = torch.tensor([1, 0])
    ref0 = -(-1001.0 - (-1000.0 + math.log(1 + math.exp(-1) + math.exp(-3))))
    ref1 = 795.0  # -log softmax: 800 - 5 (up to exp(-795))
    assert float(cluster_cross_entropy(log_joint, y)) == pytest.approx((ref0 + ref1) / 2, rel=1e-6)


def test_component_entropy_term_is_the_mean_negative_gaussian_entropy() -> None:
    lv = torch.tensor([[0.0, 1.0], [-1.0, 2.0]])
    ref = np.mean([-0.5 * (v + math.log(2 * math.pi) + 1) for v in (0.0, 1.0, -1.0, 2.0)])
    assert float(component_entropy_loss(lv)) == pytest.approx(ref, rel=1e-6)
    assert float(component_entropy_loss(lv + 1.0)) < float(component_entropy_loss(lv))  # wider = lower loss


# -- prior ----------------------------------------------------------------------------------------


def test_floored_prior_init_sampling_std_and_code_responsibilities_match_scipy() -> None:
    torch.manual_seed(0)
    prior = FlooredGMMPrior(dim=6, num_components=4, std_floor=0.5, init_logvar=1.0)
    assert torch.allclose(prior.means.norm(dim=1), torch.ones(4), atol=1e-5)
    gram = prior.means @ prior.means.T
    assert (gram - torch.diag(torch.diag(gram))).abs().max() < 1e-5
    z, k = prior.sample_with_components(100_000)
    std = (z - prior.means[k]).std(0).detach()
    assert torch.allclose(std, torch.full((6,), math.exp(0.5) + 0.5), rtol=0.02)
    assert not prior.logits.requires_grad and torch.allclose(prior.weights, torch.full((4,), 0.25))
    zz = torch.randn(7, 6, generator=torch.Generator().manual_seed(1)) * 3
    var = np.exp(1.0) + 0.25  # the official code's density variance
    pdf = np.stack(
        [multivariate_normal(m, var * np.eye(6)).pdf(zz.numpy()) for m in prior.means.detach().numpy()], 1
    )
    assert np.allclose(
        prior.responsibilities(zz).detach().numpy(), pdf / pdf.sum(1, keepdims=True), atol=1e-5
    )
    consistent = FlooredGMMPrior(dim=6, num_components=4, floor_mode="consistent")
    assert torch.allclose(consistent.clamped_logvars.exp(), consistent.sample_stds() ** 2)
    with pytest.raises(ConfigError):
        FlooredGMMPrior(dim=2, floor_mode="clamp")


# -- nets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["split", "shared", "class_bn"])
@pytest.mark.parametrize("classes", [0, 5])
def test_generators_take_z_and_y_in_every_injection_mode(mode: str, classes: int) -> None:
    z, y = torch.randn(4, 12), torch.randint(0, 5, (4,))
    yy = y if classes else None
    mlp = ConditionalMLPGenerator(12, (1, 8, 8), (-1.0, 1.0), classes, hidden=(16, 32), injection=mode)
    assert mlp(z, yy).shape == (4, 1, 8, 8) and mlp(z, yy).abs().max() <= 1
    res = ConditionalResNetGenerator(12, (3, 32, 32), (-1.0, 1.0), classes, width=8, injection=mode)
    assert res(z, yy).shape == (4, 3, 32, 32)
    if classes and mode == "class_bn":  # y changes the output through the per-layer embeddings
        mlp.eval()
        assert not torch.allclose(
            mlp(z, torch.zeros(4, dtype=torch.long)), mlp(z, torch.ones(4, dtype=torch.long))
        )


def test_split_injection_needs_equal_chunks_and_feeds_one_chunk_per_layer() -> None:
    inj = LatentInjection("split", latent_dim=12, n_layers=3, num_classes=2, embed_dim=5)
    stem, conds = inj(torch.arange(24.0).view(2, 12), torch.tensor([0, 1]))
    assert stem.shape == (2, 3) and len(conds) == 3 and conds[0].shape == (2, 3 + 5)
    assert torch.equal(conds[2][:, :3], torch.arange(24.0).view(2, 12)[:, 9:])
    with pytest.raises(ConfigError, match="multiple of 4"):
        LatentInjection("split", latent_dim=10, n_layers=3)


@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_encoder_shares_the_critic_trunk_or_builds_its_own(arch: str) -> None:
    shape = (1, 16, 16)
    critic_fn, encoder_fn = (mlp_critic, mlp_encoder) if arch == "mlp" else (resnet_critic, resnet_encoder)
    kw = {"trunk": (32, 16)} if arch == "mlp" else {"width": 8}
    d = critic_fn(shape, 1, **kw)
    shared = encoder_fn(shape, 6, shared_trunk=d.trunk, **kw)
    own = encoder_fn(shape, 6, **kw)
    x = torch.randn(3, *shape)
    assert d(x).shape == (3, 1) and shared(x).shape == (3, 6) and own(x).shape == (3, 6)
    assert shared.trunk is d.trunk and own.trunk is not d.trunk
    d_ids = {id(p) for p in d.parameters()}
    assert any(id(p) in d_ids for p in shared.parameters()) and not any(
        id(p) in d_ids for p in own.parameters()
    )


# -- the model ------------------------------------------------------------------------------------

SHAPE = (1, 8, 8)


def _adam(**kw):
    return functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.0, 0.999), **kw)


def _model(cls=MPCC, share: bool = True, **kwargs):
    args = dict(
        data_shape=SHAPE,
        value_range=(0.0, 1.0),
        latent_dim=4,
        d_steps=2,
        e_steps=2,
        share_encoder=share,
        generator=functools.partial(ConditionalMLPGenerator, hidden=(16,)),
        discriminator=functools.partial(mlp_critic, trunk=(16,)),
        encoder=functools.partial(mlp_encoder, trunk=(16,), hidden=(8,), head_hidden=8),
        g_optimizer=_adam(),
        d_optimizer=_adam(),
        e_optimizer=_adam(),
        ema_decay=0.9,
        ema_start=1,
        standing_stats=2,
        standing_batch_size=8,
    )
    if cls is MPCC:
        args.update(num_clusters=3, prior=functools.partial(FlooredGMMPrior), prior_lr=6e-4)
    args.update(kwargs)
    return cls(**args)


def _fit(model, iterations: int, tmp_path, ckpt_path=None) -> L.Trainer:
    model.max_iterations = iterations
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=str(tmp_path),
        enable_checkpointing=False,
    )
    dm = DigitsDataModule(name="digits", image_size=8, batch_size=8, seed=0)
    trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
    return trainer


def test_mpcc_step_schedule_updates_what_algorithm_1_says(tmp_path) -> None:
    torch.manual_seed(0)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = _fit(model, 3, tmp_path)
    # per iteration: 2 D steps, 1 G(+prior) step, 2 encoder steps, the first one also steps the prior
    assert model.iteration == 3 and trainer.global_step == 3 * (2 + 1 + 2 + 1)
    after = model.state_dict()
    for key in (
        "prior.means",
        "prior.logvars",
        "generator_ema.out.weight",
        "encoder.heads.0.0.parametrizations.weight.original",
    ):
        assert not torch.equal(before[key], after[key]), key
    assert torch.equal(before["prior.logits"], after["prior.logits"])  # uniform weights stay fixed
    opt_g = trainer.optimizers[0]
    assert [g["lr"] for g in opt_g.param_groups] == [2e-4, 6e-4]
    # the prior's Adam state counts the G step and the first encoder step of every iteration
    assert int(opt_g.state[model.prior.means]["step"]) == 2 * 3
    assert int(opt_g.state[model.generator.out.weight]["step"]) == 3
    x = torch.rand(10, *SHAPE)
    model.eval()
    assert model.cluster(x).shape == (10,) and model.sample(5).shape == (5, *SHAPE)
    assert model.reconstruct(x).shape == x.shape


def test_checkpoint_round_trip_restores_ema_prior_and_optimizer_state(tmp_path) -> None:
    torch.manual_seed(0)
    model = _model()
    trainer = _fit(model, 3, tmp_path)
    path = tmp_path / "mpcc.ckpt"
    trainer.save_checkpoint(str(path))
    torch.manual_seed(1)
    fresh = _model()
    trainer2 = _fit(fresh, 3, tmp_path, ckpt_path=str(path))  # restores, then stops at once
    assert fresh.iteration == 3 and trainer2.global_step == trainer.global_step
    for key, value in model.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key]), key
    for opt_a, opt_b in zip(trainer.optimizers, trainer2.optimizers):
        sa, sb = opt_a.state_dict(), opt_b.state_dict()
        assert sa["param_groups"] == sb["param_groups"]
        for idx, st in sa["state"].items():
            for name, t in st.items():
                assert torch.equal(torch.as_tensor(t), torch.as_tensor(sb["state"][idx][name])), (idx, name)


def test_aim_mpcc_has_no_mixture_and_rejects_one() -> None:
    model = _model(AIMMPCC, share=False)
    assert model.prior.num_components == 1 and not hasattr(model, "cluster")
    with pytest.raises(ConfigError, match="N\\(0, I\\)"):
        _model(AIMMPCC, prior=functools.partial(FlooredGMMPrior, num_components=2))
    with pytest.raises(ConfigError, match="trunk"):
        _model(AIMMPCC, discriminator=lambda in_shape, out_dim: torch.nn.Linear(64, 1))


# -- the CLI --------------------------------------------------------------------------------------

TINY = [
    "dataset=digits",
    "trainer=smoke",
    "logger=none",
    "metric=clustering",
    "model.generator.width=8",
    "model.discriminator.width=8",
    "model.encoder.width=8",
    "model.standing_stats=2",
]


@pytest.mark.parametrize(
    "model,share", [("mpcc", "true"), ("mpcc", "false"), ("aim_mpcc", "true"), ("aim_mpcc", "false")]
)
def test_mpcc_family_trains_through_the_cli(genexp_cli, model: str, share: str) -> None:
    run = genexp_cli(f"model={model}", f"model.share_encoder={share}", *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    m = run.metrics()
    assert m["global_step"] >= 6 and "test/latent_mse" in m and "test/d_loss" in m
    assert ("test/cluster_purity" in m) == (model == "mpcc")
    assert (run.run_dir / "checkpoints" / "last.ckpt").exists()


def test_aim_trains_through_the_cli(genexp_cli) -> None:
    run = genexp_cli("model=aim", "dataset=digits", "trainer=smoke", "logger=none", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "test/e_nll" in run.metrics()


@pytest.mark.slow
@pytest.mark.parametrize("share", ["true", "false"])
def test_mpcc_trains_under_ddp_cpu(genexp_cli, share: str) -> None:
    """Two gloo processes: several backward passes per step, parameters unused by some of them
    (encoder heads in the D step), a trunk shared by two optimizers, EMA and prior on each rank."""
    run = genexp_cli(
        "model=mpcc",
        f"model.share_encoder={share}",
        "trainer=ddp_cpu",
        "trainer.max_epochs=-1",
        "model.max_iterations=2",
        "trainer.limit_test_batches=1",
        "trainer.limit_val_batches=0",
        *[a for a in TINY if not a.startswith("trainer=")],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    m = run.metrics()
    assert m["global_step"] == 2 * (4 + 1 + 4 + 1) and "test/cluster_purity" in m
    state = torch.load(run.run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["genexp_model"]["iteration"] == 2

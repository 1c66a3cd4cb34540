"""The nets of the CPU-scale MPCC / AIM-MPCC experiments (the thesis' ResNet family at width 16 on
16x16 images): built from the shipped experiment configs, their shapes, the structure the thesis
asks for (class-conditional BN driven by the component, spectral norm everywhere, the shared trunk),
and one finite training iteration with the thesis' schedule."""

from __future__ import annotations

import math

import torch
from helpers.configs import compose_train
from helpers.trainers import bare_trainer
from hydra.utils import instantiate
from omegaconf import OmegaConf

from genexp.data.digits import DigitsDataModule
from genexp.nets.mpcc_latent_injection import ConditionalNorm


def _build(experiment: str, tmp_path):
    cfg = compose_train([f"experiment={experiment}", "dataset=digits", "dataset.image_size=16"], tmp_path)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.resolve(job)
    assert list(job.dataset.shape) == [1, 16, 16] and job.model.d_steps == job.model.e_steps == 4
    return instantiate(job.model)


def _spectral(module: torch.nn.Module) -> bool:
    return hasattr(module, "parametrizations") and "weight" in module.parametrizations


def test_cpu_mpcc_nets_have_the_thesis_structure_and_shapes(tmp_path) -> None:
    torch.manual_seed(0)
    model = _build("mpcc_mnist_cpu", tmp_path)
    assert model.latent_dim == 24 and model.num_clusters == 10 and model.share_encoder
    assert torch.allclose(model.prior.means.norm(dim=1), torch.ones(10), atol=1e-5)  # spec §Q11
    assert torch.allclose(model.prior.logvars, torch.ones(10, 24))
    z, y = model.draw_latents(6)
    x = model.generator(z, y)
    assert x.shape == (6, 1, 16, 16) and x.abs().max() <= 1 and torch.isfinite(x).all()
    norms = [m for m in model.generator.modules() if isinstance(m, ConditionalNorm)]
    assert len(norms) == 4 and all(isinstance(m.maps[0], torch.nn.Embedding) for m in norms)
    model.eval()
    assert not torch.allclose(model.generator(z, torch.zeros_like(y)), model.generator(z, torch.ones_like(y)))
    real = torch.rand(6, 1, 16, 16) * 2 - 1
    assert model.critic(real).shape == (6,) and model.encoder(real).shape == (6, 48)
    assert model.encoder.trunk is model.discriminator.trunk
    assert model.encoder.body(model.encoder.trunk(real)).shape == (6, 16, 2, 2)  # the thesis' 2x2 map
    layers = [m for net in (model.generator, model.discriminator, model.encoder) for m in net.modules()]
    weighted = [m for m in layers if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert weighted and all(_spectral(m) for m in weighted)


def test_cpu_mpcc_trains_one_finite_iteration_and_aim_mpcc_has_the_same_nets(tmp_path) -> None:
    torch.manual_seed(0)
    model = _build("mpcc_mnist_cpu", tmp_path)
    model.max_iterations = 1
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dm = DigitsDataModule(image_size=16, batch_size=50, value_range=(-1.0, 1.0), seed=0)
    trainer = bare_trainer(tmp_path, max_epochs=-1, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    assert model.iteration == 1 and trainer.global_step == 4 + 1 + 4 + 1
    after = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    for key in (
        "prior.means",
        "generator.stem.parametrizations.weight.original",
        "encoder.heads.0.0.parametrizations.weight.original",
    ):
        assert not torch.equal(before[key], after[key]), key
    losses = {k: float(v) for k, v in trainer.logged_metrics.items()}
    assert all(math.isfinite(v) for v in losses.values())
    aim = _build("aim_mpcc_mnist_cpu", tmp_path)
    shapes = {k: v.shape for k, v in aim.discriminator.state_dict().items()}
    assert shapes == {k: v.shape for k, v in model.discriminator.state_dict().items()}
    assert aim.prior.num_components == 1 and aim.encoder.trunk is aim.discriminator.trunk

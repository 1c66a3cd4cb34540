"""The chapter-6 GAN experiments (configs/experiment/thesis_ch6_*_gan.yaml) take every GAN model of
Table 6.4 (ALI, ALICE, Veegan, AIM), as single runs and as a ``-m`` sweep, and build the thesis'
nets (test_configs.py composes each experiment with its default model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.configs import compose_train
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from genexp.config import CONFIG_DIR, validate
from genexp.nets.joint_critic import JointCritic
from genexp.nets.resnet import ResNetDecoder, ResNetEncoder
from genexp.nets.shared_trunk import TrunkCritic
from genexp.sweep_plan import sweep_jobs
from genexp.train import instantiate

MODELS = {"ali": "ALI", "alice": "ALICE", "veegan": "Veegan", "aim": "AIM"}
CPU_ONLY = ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.strategy=auto"]


def _extra(experiment: str, model: str) -> list[str]:
    return ["~model.joint_critic"] if (experiment, model) == ("thesis_ch6_cifar10_gan", "aim") else []


def test_a_sweep_over_the_joint_models_validates_every_job() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        jobs, numbered = sweep_jobs(["experiment=thesis_ch6_cpu_gan", "model=ali,alice,veegan"])
        assert numbered and len(jobs) == 3
        for job in jobs:
            cfg = compose(config_name="train", overrides=job)
            validate(cfg, job)
            model = job[1].split("=")[1]
            assert cfg.model._target_.endswith(f".{MODELS[model]}")
            assert cfg.model.latent_dim == 10 and cfg.trainer.max_epochs == 10
            assert list(cfg.model.encoder.hidden) == [256, 256] == list(cfg.model.generator.hidden)
    GlobalHydra.instance().clear()


# with the sweep test above (ali, alice, veegan at CPU scale) and test_configs.py (each experiment
# with its default model, ali), every model meets every scale
@pytest.mark.parametrize(
    "experiment,model",
    [
        ("thesis_ch6_cpu_gan", "aim"),
        ("thesis_ch6_mnist_gan", "alice"),
        ("thesis_ch6_mnist_gan", "veegan"),
        ("thesis_ch6_fashion_mnist_gan", "aim"),
        ("thesis_ch6_cifar10_gan", "veegan"),
        ("thesis_ch6_cifar10_gan", "aim"),
    ],
)
def test_the_gan_models_validate_in_the_chapter6_gan_experiments(
    experiment: str, model: str, tmp_path
) -> None:
    overrides = [f"experiment={experiment}", f"model={model}", *CPU_ONLY, *_extra(experiment, model)]
    cfg = compose_train(overrides, tmp_path)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    validate(job, overrides)
    assert job.model._target_.endswith(f".{MODELS[model]}") and job.model.latent_dim in (10, 128)


@pytest.mark.parametrize(
    "experiment,model,width,hidden",
    [
        ("thesis_ch6_cpu_gan", "alice", None, 256),
        ("thesis_ch6_mnist_gan", "veegan", 128, 256),
        ("thesis_ch6_mnist_gan", "aim", 128, None),
    ],
)
def test_the_experiments_build_the_thesis_nets(
    experiment: str, model: str, width: int | None, hidden: int | None, tmp_path: Path
) -> None:
    cfg = compose_train([f"experiment={experiment}", f"model={model}", *CPU_ONLY], tmp_path)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.resolve(job)
    torch.manual_seed(0)
    built = instantiate(job.model, "test")
    assert type(built).__name__ == MODELS[model] and built.latent_dim == 10
    if width is not None:  # ResNet nets of width 4C
        assert isinstance(built.encoder, ResNetEncoder) and isinstance(built.generator, ResNetDecoder)
        assert built.generator.width0 == width
    critic = built.discriminator
    if hidden is None:
        assert isinstance(critic, TrunkCritic)
        return
    assert isinstance(critic, JointCritic)
    assert critic.z_net.fc1.out_features == hidden and critic.xz_net.fc1.in_features == hidden // 2 + hidden
    if width is not None:
        assert isinstance(critic.x_net, TrunkCritic)  # D_x: Resblock down, down, Resblock, Resblock, sum pool
    x = torch.rand(2, *built.data_shape) * 2 - 1
    assert critic(x, torch.randn(2, 10)).shape == (2, 1)

"""Every YAML in configs/ is composed, and every object it describes is instantiated."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.configs import compose_train
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate as hydra_instantiate
from omegaconf import DictConfig, OmegaConf

from genexp.config import CONFIG_DIR, register_resolvers
from genexp.train import instantiate as genexp_instantiate

register_resolvers()

GROUPS_WITH_OBJECTS = ("dataset", "model", "prior", "trainer", "logger", "callbacks", "metric")


def all_yaml_options() -> list[tuple[str, str]]:
    """(group, option) for every YAML under configs/ except the root train.yaml."""
    out = []
    for path in sorted(CONFIG_DIR.rglob("*.yaml")):
        rel = path.relative_to(CONFIG_DIR)
        if rel.parent == Path("."):
            continue
        out.append((str(rel.parent), rel.stem))
    return out


def instantiate(node, **kwargs):
    """genexp's own instantiation (it drops a model's ``_smoke_`` metadata) for run objects."""
    return genexp_instantiate(node, "test", **kwargs)


def instantiate_run_objects(cfg: DictConfig) -> dict:
    """Instantiate what genexp.train instantiates (without fitting)."""
    built = {"dataset": instantiate(cfg.dataset), "model": instantiate(cfg.model)}
    built["trainer"] = instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
    for group in ("logger", "callbacks", "metric"):
        built[group] = {k: instantiate(v) for k, v in (cfg.get(group) or {}).items() if v and "_target_" in v}
    return built


@pytest.mark.parametrize("group,option", all_yaml_options(), ids=lambda v: str(v))
def test_every_yaml_composes_and_instantiates(group: str, option: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    overrides = [f"{group}={option}"] if group != "hydra" else []
    if group == "model":  # light-curve models need a light-curve dataset
        image_model = {
            "pgmgan_image": "dataset=cifar10"
        }  # needs >= 32 px images (shapes only; nothing loads)
        overrides.append(
            "dataset=lightcurves_synthetic"
            if option.startswith("lc_")
            else image_model.get(option, "dataset=digits")
        )
    if group == "trainer" and option in ("gpu", "ddp"):  # build GPU presets on the CPU
        overrides += ["trainer.accelerator=cpu", f"trainer.devices={1 if option == 'gpu' else 2}"]
    if group == "experiment":  # GPU experiments are built on the CPU here
        overrides += ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.strategy=auto"]
    cfg = compose_train(overrides, tmp_path)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.resolve(job)
    if group.startswith("hydra/launcher"):
        launcher = hydra_instantiate(cfg.hydra.launcher)
        assert launcher is not None
        return
    if group.startswith("hydra/sweeper"):
        assert "_target_" in cfg.hydra.sweeper
        return
    if group == "prior":
        prior = instantiate(job.prior)(dim=4)
        assert prior.sample(3).shape == (3, 4)
    if group == "dataset":
        dm = instantiate(job.dataset)
        assert tuple(dm.shape) == tuple(job.dataset.shape)
        return
    built = instantiate_run_objects(job)
    model = built["model"]
    assert tuple(model.data_shape) == tuple(job.dataset.shape)


def test_train_yaml_defaults_compose_to_the_default_experiment(tmp_path: Path) -> None:
    cfg = compose_train([], tmp_path)
    assert cfg.hydra.runtime.choices.model == "vae" and cfg.hydra.runtime.choices.dataset == "mnist"
    assert cfg.model.optimizer._partial_ is True


def test_an_experiments_top_level_keys_override_the_root_defaults(tmp_path: Path) -> None:
    assert compose_train(["experiment=gtn_1d"], tmp_path).name == "gtn_1d"
    assert compose_train(["experiment=gtn_1d", "name=mine"], tmp_path).name == "mine"  # the CLI still wins


def test_evaluate_yaml_composes(tmp_path: Path) -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="evaluate", overrides=["ckpt=/some/run/checkpoints/last.ckpt", "metric=[toy2d]"]
        )
    GlobalHydra.instance().clear()
    assert cfg.ckpt.endswith("last.ckpt")
    assert "_target_" in cfg.metric.toy2d

"""Composing genexp's Hydra config in tests, with the runtime values Hydra sets in a real run."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from genexp.config import CONFIG_DIR, register_resolvers

register_resolvers()


def compose_train(overrides: list[str], tmp_path: Path) -> DictConfig:
    """Compose configs/train.yaml with overrides, with Hydra's runtime values set."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "run")
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    GlobalHydra.instance().clear()
    return cfg

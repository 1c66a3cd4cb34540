"""Every dataset YAML has the shared keys and instantiates its datamodule (without loading files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

CONFIG_DIR = Path(__file__).resolve().parents[2] / "genexp" / "configs" / "dataset"
NAMES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
REQUIRED = ("_target_", "name", "shape", "value_range", "num_classes", "batch_size", "seed")


def compose(name: str, tmp_path: Path, **overrides):
    cfg = OmegaConf.create(
        {"seed": 11, "paths": {"data_dir": str(tmp_path), "cache_dir": str(tmp_path / "c")}}
    )
    cfg.dataset = OmegaConf.load(CONFIG_DIR / f"{name}.yaml")
    for key, value in overrides.items():
        cfg.dataset[key] = value
    return cfg


def test_all_expected_datasets_exist():
    expected = {
        "ring8",
        "grid25",
        "eight_gaussians",
        "checkerboard",
        "two_spirals",
        "four_circles",
        "abs",
        "sinewave",
        "swiss_roll",
        "swiss_roll_1d",
        "uniform_square",
        "digits",
        "mnist",
        "fashion_mnist",
        "cifar10",
        "stl10",
        "celeba",
        "stacked_mnist",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_yaml_keys_and_instantiation(name, tmp_path):
    cfg = compose(name, tmp_path)
    for key in REQUIRED:
        assert key in cfg.dataset, f"{name}.yaml lacks {key}"
    assert cfg.dataset.name == name and cfg.dataset.seed == 11
    raw = OmegaConf.load(CONFIG_DIR / f"{name}.yaml")
    assert raw._get_node("seed")._value() == "${seed}"
    if "root" in raw:
        assert str(raw._get_node("root")._value()).startswith("${paths.data_dir}")
    dm = instantiate(cfg.dataset)
    assert list(dm.shape) == list(cfg.dataset.shape)
    assert dm.num_classes == cfg.dataset.num_classes and dm.seed == 11
    assert (dm.value_range is None) == (cfg.dataset.value_range is None)


def test_image_size_override_changes_shape(tmp_path):
    cfg = compose("mnist", tmp_path, image_size=32)
    assert list(cfg.dataset.shape) == [1, 32, 32]
    assert instantiate(cfg.dataset).shape == (1, 32, 32)

"""``python -m genexp`` / ``genexp``: train a model from the composed Hydra config."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from genexp.cli import run_cli
from genexp.config import CONFIG_DIR, register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_entry(cfg: DictConfig) -> float | None:
    from genexp.train import train_from_hydra

    return train_from_hydra(cfg)


def main() -> None:
    """Console-script entry point."""
    run_cli(_hydra_entry)


if __name__ == "__main__":
    main()

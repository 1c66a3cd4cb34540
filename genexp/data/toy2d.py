"""Datamodule for the toy point distributions of :mod:`genexp.data.toy_distributions`."""

from __future__ import annotations

from typing import Any, Literal, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.data.base import InMemoryDataModule, OnDevice
from genexp.data.toy_distributions import DISTRIBUTIONS, ToyDistribution, make_distribution
from genexp.errors import ConfigError

SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
ToyName = Literal[tuple(DISTRIBUTIONS)]  # type: ignore[valid-type]
"""The names ``dataset.distribution`` may take (the keys of the distribution registry)."""


def split_generator(seed: int, split: str) -> torch.Generator:
    """A generator for ``split`` derived from ``seed``; distinct for every (seed, split) pair."""
    state = np.random.SeedSequence([int(seed), SPLIT_IDS[split]]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


class Toy2DDataModule(InMemoryDataModule):
    """Points from a toy distribution: a fixed train set and fresh val/test sets, all seeded.

    The train set (``n_train`` points, default 10,000) is drawn once from the ``seed``; val and
    test are independent fresh draws from seeds derived from it. Labels are the mixture component
    where the distribution has one (e.g. the Gaussian of ``ring8``), else ``None`` (loaders then
    yield -1). ``params`` override the distribution's defaults (e.g. ``{sigma: 0.02}``).
    ``name``, ``shape`` and ``num_classes`` default to the distribution's; if given (the YAML
    does), they must agree with it.
    """

    kind = "points"

    def __init__(
        self,
        distribution: ToyName,
        n_train: PositiveInt = 10_000,
        n_val: PositiveInt = 10_000,
        n_test: PositiveInt = 10_000,
        batch_size: PositiveInt = 256,
        eval_batch_size: Optional[PositiveInt] = None,
        seed: int = 0,
        params: Optional[Mapping[str, Any]] = None,
        name: Optional[str] = None,
        shape: Optional[Sequence[int]] = None,
        num_classes: Optional[int] = None,
        value_range: Optional[Sequence[float]] = None,
        on_device: OnDevice = "auto",
    ) -> None:
        dist = make_distribution(distribution, **dict(params or {}))
        if shape is not None and tuple(int(s) for s in shape) != (dist.dim,):
            raise ConfigError(
                f"dataset.shape {list(shape)} does not match {distribution!r}: use [{dist.dim}]"
            )
        if num_classes is not None and num_classes != dist.num_classes:
            raise ConfigError(
                f"dataset.num_classes={num_classes} but {distribution!r} has {dist.num_classes} components"
            )
        for key, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
            if int(n) < 1:
                raise ConfigError(f"dataset.{key} must be a positive number of points, got {n}")
        super().__init__(
            name=name or distribution,
            shape=(dist.dim,),
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_classes=dist.num_classes,
            value_range=value_range,
            seed=seed,
            on_device=on_device,
        )
        self.distribution: ToyDistribution = dist
        self.sizes = {"train": int(n_train), "val": int(n_val), "test": int(n_test)}

    def load_splits(self) -> dict[str, tuple[Tensor, Optional[Tensor]]]:
        """Draw every split from its own derived generator."""
        return {
            split: self.distribution.sample_with_labels(n, split_generator(self.seed, split))
            for split, n in self.sizes.items()
        }

"""Nearest-neighbour memorisation check (GTN spec §8 item 5, §9 item 14): are generated samples
closer to the training data than to held-out data of the same size?"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def nearest_distance(x: Tensor, ref: Tensor, block: int = 1000) -> Tensor:
    """Euclidean distance (float64) from each row of ``x`` to its nearest row of ``ref``, in blocks
    of ``block`` rows of ``x`` (memory ``block * len(ref)``). Rows are flattened first."""
    x, ref = x.reshape(len(x), -1).double(), ref.reshape(len(ref), -1).double()
    return torch.cat([torch.cdist(part, ref).min(1).values for part in x.split(block)])


def memorisation_scores(samples: Tensor, train: Tensor, test: Tensor, block: int = 1000) -> dict[str, float]:
    """NN distances of ``samples`` to equal-sized ``train`` and ``test`` reference sets.

    Returns ``nn_train_dist`` / ``nn_test_dist`` (mean nearest distance to each set),
    ``memorisation_ratio`` = their quotient (about 1: no memorisation; much below 1: samples copy
    training points) and ``memorisation_frac_closer_train`` (share of samples with
    d_train < d_test; about 0.5 without memorisation).
    """
    if len(train) != len(test):
        raise ValueError(f"train and test references must have the same size, got {len(train)}, {len(test)}")
    d_train, d_test = nearest_distance(samples, train, block), nearest_distance(samples, test, block)
    mean_train, mean_test = float(d_train.mean()), float(d_test.mean())
    return {
        "memorisation_ratio": mean_train / mean_test if mean_test > 0 else math.nan,
        "nn_train_dist": mean_train,
        "nn_test_dist": mean_test,
        "memorisation_frac_closer_train": float((d_train < d_test).double().mean()),
    }

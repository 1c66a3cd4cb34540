"""Decoder likelihoods p(x|z) as negative log-likelihoods summed over each sample."""

from __future__ import annotations

import math
from typing import Literal, Optional, Sequence, get_args

import torch.nn.functional as F
from torch import Tensor

from genexp.errors import ConfigError

Likelihood = Literal["gaussian", "bernoulli"]
"""The decoder likelihoods a model's ``likelihood`` may name."""
LIKELIHOODS = get_args(Likelihood)


def check_likelihood(name: str, value_range: Optional[Sequence[float]]) -> str:
    """Validate a likelihood name against the data's value range."""
    if name not in LIKELIHOODS:
        raise ConfigError(f"unknown likelihood {name!r}; choose one of {list(LIKELIHOODS)}")
    if name == "bernoulli" and value_range is None:
        raise ConfigError(
            "likelihood=bernoulli needs bounded data (a dataset with value_range); use gaussian"
        )
    return name


def gaussian_nll(x: Tensor, mean: Tensor, obs_std: float) -> Tensor:
    """-log N(x; mean, obs_std^2 I) summed per sample."""
    var = obs_std**2
    d = math.prod(x.shape[1:])
    sse = (x - mean).pow(2).flatten(1).sum(1)
    return sse / (2 * var) + 0.5 * d * math.log(2 * math.pi * var)


def bernoulli_nll(x01: Tensor, logits: Tensor) -> Tensor:
    """-log Bernoulli(x01; sigmoid(logits)) summed per sample (x01 may be grey levels in [0, 1])."""
    return F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1).sum(1)


def squared_error(x: Tensor, x_hat: Tensor) -> Tensor:
    """Sum of squared errors per sample."""
    return (x - x_hat).pow(2).flatten(1).sum(1)


def gaussian_cross_entropy(
    obs_mean: Tensor, obs_std: Tensor, pred_mean: Tensor, pred_std: Tensor, mask: Tensor
) -> Tensor:
    """-E_{N(obs_mean, obs_std^2)}[ln N(x; pred_mean, pred_std^2)] summed over the masked points of
    each row: sum_j m_j [1/2 ln(2 pi s^_j^2) + s_j^2 / (2 s^_j^2) + (mu_j - mu^_j)^2 / (2 s^_j^2)]
    (LC-VaDE's reconstruction term, thesis eq. 9.7 with the 1/2 factors restored)."""
    var = pred_std.pow(2)
    squared = obs_std.pow(2) + (obs_mean - pred_mean).pow(2)
    per_point = 0.5 * (math.log(2 * math.pi) + var.log()) + squared / (2 * var)
    return (per_point * mask).sum(-1)

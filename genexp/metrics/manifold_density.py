"""The density of data near a decoder's manifold (GENs, Saha et al. 2020, §5.5, Eqs. 10-11):

    log p(x) = log p_z(z') - ½ log|det JᵀJ| + log N(x; x', σ² I),   z' = E(x), x' = D(z'),

with J = ∂D/∂z at z' (the d × l decoder Jacobian, √det JᵀJ the volume change of the first
fundamental form). Novelty scores are -log p(x)."""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor
from torch.func import jacfwd, vmap

Decoder = Callable[[Tensor], Tensor]


def decoder_jacobian(decode: Decoder, z: Tensor) -> Tensor:
    """J_i = ∂ vec D(z_i) / ∂z for every row, shape (n, d, l): forward mode (l JVPs per row),
    vectorised over rows with ``torch.func.vmap``. ``decode`` maps (m, l) to (m, ...) row-wise
    (a net with BatchNorm must be in eval mode)."""

    def one(zi: Tensor) -> Tensor:
        return decode(zi.unsqueeze(0)).reshape(-1)

    return vmap(jacfwd(one))(z)


def half_log_det_gram(jac: Tensor) -> Tensor:
    """½ log det(JᵀJ) per row of (n, d, l) Jacobians, as the sum of the log singular values of J
    (float64; no squaring of J, so no loss of precision to the Gram matrix)."""
    return torch.linalg.svdvals(jac.double()).log().sum(-1)


def isotropic_gaussian_log_lik(x: Tensor, mean: Tensor, variance: float) -> Tensor:
    """log N(x; mean, variance · I) per row, over all scalars of a row (float64)."""
    sq = (x.double() - mean.double()).flatten(1).pow(2).sum(1)
    d = x[0].numel()
    return -0.5 * (sq / variance + d * math.log(2 * math.pi * variance))


def manifold_log_density(
    x: Tensor, z: Tensor, decode: Decoder, log_pz: Callable[[Tensor], Tensor], variance: float
) -> dict[str, Tensor]:
    """The three terms of log p(x) and their sum, per row (float64): ``log_pz`` (log p_z(z)),
    ``half_log_det`` (½ log det JᵀJ at z), ``log_lik`` (log N(x; D(z), variance · I)), ``log_px``."""
    jac = decoder_jacobian(decode, z)
    terms = {
        "log_pz": log_pz(z).double(),
        "half_log_det": half_log_det_gram(jac),
        "log_lik": isotropic_gaussian_log_lik(x, decode(z), variance),
    }
    terms["log_px"] = terms["log_pz"] - terms["half_log_det"] + terms["log_lik"]
    return terms

"""Isotropic Gaussian kernel density estimates and the KDE-based Jensen-Shannon estimate of GENs
(Saha et al. 2020, Eqs. 1-2), plus the bandwidth that maximises it between two target samples."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

LogProb = Callable[[Tensor], Tensor]
Sampler = Callable[[int], Tensor]


def kde_log_density_from_sqdist(sqdist: Tensor, h: float, dim: int) -> Tensor:
    """log p̂(z) per row of an (n, m) matrix of squared distances to the m kernel centres.

    The kernel is the normalised isotropic Gaussian N(0, h² I) in ``dim`` dimensions.
    """
    m = sqdist.shape[1]
    return (
        torch.logsumexp(-sqdist / (2.0 * h * h), dim=1)
        - math.log(m)
        - 0.5 * dim * math.log(2 * math.pi * h * h)
    )


def kde_log_density(z: Tensor, centres: Tensor, h: float) -> Tensor:
    """log of the normalised isotropic Gaussian KDE with bandwidth ``h`` built on ``centres``, at ``z``."""
    return kde_log_density_from_sqdist(torch.cdist(z, centres).pow(2), h, z.shape[1])


def jsd_encoder_term(log_pe: Tensor, log_pt: Tensor) -> Tensor:
    """log[p̂_e / (p̂_e + p_t)] per sample (the first term of Eq. 2, in logsigmoid form)."""
    return F.logsigmoid(log_pe - log_pt)


def jsd_estimate(log_pe_e: Tensor, log_pt_e: Tensor, log_pe_t: Tensor, log_pt_t: Tensor) -> Tensor:
    """J of Eq. 2: E_{z'~p_e} log[p̂_e/(p̂_e+p_t)] + E_{z''~p_t} log[p_t/(p̂_e+p_t)], in [-2 log 2, 0].

    ``*_e`` are densities at samples of the encoded distribution, ``*_t`` at target samples. The
    divergence in nats is ``log 2 + J / 2``.
    """
    return jsd_encoder_term(log_pe_e, log_pt_e).mean() + F.logsigmoid(log_pt_t - log_pe_t).mean()


def _bandwidth_trial(
    sample: Sampler, log_prob: LogProb, m: int, n_eval: int, bounds: tuple[float, float]
) -> float:
    """argmax_h J(h) for one independent draw of (centres, z', z'') from the target."""
    from scipy.optimize import minimize_scalar

    centres, z1, z2 = (sample(k).double() for k in (m, n_eval, n_eval))
    d1, d2 = torch.cdist(z1, centres).pow(2), torch.cdist(z2, centres).pow(2)
    lp1, lp2 = log_prob(z1).double(), log_prob(z2).double()
    dim = centres.shape[1]

    def neg_j(h: float) -> float:
        j = jsd_estimate(
            kde_log_density_from_sqdist(d1, h, dim), lp1, kde_log_density_from_sqdist(d2, h, dim), lp2
        )
        return -float(j)

    return float(minimize_scalar(neg_j, bounds=bounds, method="bounded", options={"xatol": 1e-4}).x)


@torch.no_grad()
def optimal_bandwidth(
    sample: Sampler,
    log_prob: LogProb,
    m: int,
    n_eval: int = 1000,
    trials: int = 3,
    bounds: tuple[float, float] = (0.02, 3.0),
) -> tuple[float, list[float]]:
    """GEN's bandwidth (spec §2.5): maximise J(h) between a KDE on ``m`` target samples and two
    further independent target samples of ``n_eval`` each; averaged over ``trials`` draws.

    ``sample(n)`` draws from the target and ``log_prob(z)`` is its normalised log-density, so any
    target works (N(0, I), a Gaussian mixture, ...). Returns (mean h, per-trial h).
    """
    hs = [_bandwidth_trial(sample, log_prob, int(m), int(n_eval), bounds) for _ in range(int(trials))]
    return sum(hs) / len(hs), hs

"""Losses of the clustering generative-inference models (VaDE, MPCC): closed forms on a
diagonal Gaussian mixture, unit-tested against Monte-Carlo estimates and hand-made tensors."""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from genexp.losses.gaussian import diag_gaussian_log_prob

LOG_2PI = math.log(2 * math.pi)


def expected_component_log_prob(mu: Tensor, logvar: Tensor, means: Tensor, logvars: Tensor) -> Tensor:
    """E_{q(z|x)}[ln N(z; m_k, diag s_k^2)] for every row and component, shape (n, K), in closed form:
    sum_j -1/2 [ln(2 pi s_kj^2) + (st_j^2 + (mt_j - m_kj)^2) / s_kj^2] with q(z|x) = N(mt, diag st^2)
    given by (``mu``, ``logvar``) (n, J) and the components by ``means``, ``logvars`` (K, J)."""
    var = logvar.exp().unsqueeze(1)  # n, 1, J
    diff2 = (mu.unsqueeze(1) - means.unsqueeze(0)).pow(2)  # n, K, J
    return -0.5 * (LOG_2PI + logvars.unsqueeze(0) + (var + diff2) / logvars.exp().unsqueeze(0)).sum(-1)


def diag_gaussian_entropy(logvar: Tensor) -> Tensor:
    """h(N(mu, diag exp(logvar))) per row = sum_j 1/2 ln(2 pi e s_j^2)."""
    return 0.5 * (1.0 + LOG_2PI + logvar).sum(-1)


def vade_kl(
    mu: Tensor, logvar: Tensor, gamma: Tensor, means: Tensor, logvars: Tensor, log_weights: Tensor
) -> Tensor:
    """KL(q(z|x) q(y|x) || p(y) p(z|y)) per row, in closed form for fixed ``gamma`` = q(y|x) (VaDE).

    = sum_k gamma_k sum_j 1/2 [ln(2 pi s_kj^2) + (st_j^2 + (mt_j - m_kj)^2) / s_kj^2]
      - sum_k gamma_k ln pi_k + sum_k gamma_k ln gamma_k - 1/2 sum_j (1 + ln(2 pi st_j^2)),
    with q(z|x) = N(mt, diag st^2) given by (``mu``, ``logvar``) (n, J), the mixture by ``means``,
    ``logvars`` (K, J) and ``log_weights`` (K,), and ``gamma`` (n, K). Spec §B.1 writes the last
    term without ln 2pi; with it both 2pi terms cancel, which is what the ELBO needs.
    """
    cross = -expected_component_log_prob(mu, logvar, means, logvars)  # n, K
    log_gamma = gamma.clamp_min(1e-12).log()
    return (gamma * (cross - log_weights.unsqueeze(0) + log_gamma)).sum(-1) - diag_gaussian_entropy(logvar)


def encoder_nll_per_dim(z: Tensor, mu: Tensor, logvar: Tensor, data_dim: int) -> Tensor:
    """MPCC's encoder loss L_q / dim(x): the batch mean of -log N(z; mu, diag exp(logvar)) divided
    by the number of scalars in one data sample (thesis eq. 7.13 and the 1/dim(x) balancing)."""
    return -diag_gaussian_log_prob(z, mu, logvar).mean() / float(data_dim)


def cluster_cross_entropy(log_joint: Tensor, y: Tensor) -> Tensor:
    """L_c = -mean_i log q(y_i | z_i), q(y|z) = softmax over components of ``log_joint`` (n, K) =
    log p(y=k) + log p(z|y=k) (eqs. 7.14-7.15), computed with log-sum-exp."""
    return F.cross_entropy(log_joint, y)


def component_entropy_loss(logvars: Tensor) -> Tensor:
    """L_p's entropy part (eq. 7.16 with fixed weights), per component and latent dimension:
    mean over (k, j) of -1/2 (ln(2 pi sigma_kj^2) + 1) with ``logvars`` (K, J) = ln sigma^2 (the
    official code passes the raw log-variance parameter, i.e. without the std floor)."""
    return (-0.5 * (logvars + LOG_2PI + 1.0)).mean()

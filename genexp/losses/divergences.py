"""Differentiable divergences between distributions in latent space (thesis ch. 6, spec §A.2–A.4).

Gaussian closed forms take a mean vector ``m`` (J,) and a covariance matrix ``S`` (J, J); a
covariance of ``None`` means the identity. Sample-based estimators take two (n, J) batches.

Numerics: square roots go through ``eigvalsh`` of a symmetric PSD matrix with clamped
eigenvalues (its backward pass has no 1/(l_i - l_j) terms, so repeated or near-zero eigenvalues
keep gradients finite); log-determinants and solves go through a Cholesky factor of the
covariance plus ``jitter`` times the identity.
"""

from __future__ import annotations

import math
from typing import Literal, Optional, get_args

import torch
from torch import Tensor

from genexp.errors import ConfigError

JSMethod = Literal["moment_matched", "symmetric_kl", "monte_carlo"]
"""How JS-VAE approximates the Jensen-Shannon divergence (``js_method``)."""
JS_METHODS = get_args(JSMethod)
MMDKernel = Literal["rbf", "imq"]
"""The MMD kernels (``kernel``)."""
KERNELS = get_args(MMDKernel)


def batch_gaussian(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased covariance of the rows of an (n >= 2, J) batch (thesis eqs. 6.2-6.3)."""
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need an (n >= 2, J) batch to fit a Gaussian, got shape {tuple(x.shape)}")
    m = x.mean(0)
    d = x - m
    return m, d.T @ d / (x.shape[0] - 1)


def _identity_like(m: Tensor) -> Tensor:
    return torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)


def _cholesky(s: Tensor, jitter: float) -> Tensor:
    """Lower Cholesky factor of the symmetrised ``s + jitter * I``."""
    s = 0.5 * (s + s.T)
    return torch.linalg.cholesky(s + jitter * _identity_like(s[0]))


def trace_sqrt_product(
    s1: Tensor, s2: Optional[Tensor] = None, eps: float = 1e-8, jitter: float = 1e-6
) -> Tensor:
    """tr((S1 S2)^{1/2}) = tr((S2^{1/2} S1 S2^{1/2})^{1/2}) for symmetric PSD S1, S2.

    With S2 = L L^T (Cholesky, ``jitter`` added), S1 S2 has the eigenvalues of the symmetric PSD
    matrix L^T S1 L, so the trace is the sum of square roots of its ``eigvalsh`` eigenvalues
    (negative round-off clipped to 0). The gradient is that of sqrt(max(l, ``eps``)): finite for
    singular matrices. ``s2=None`` is the identity (the sum of sqrt eigenvalues of S1).
    """
    if s2 is not None:
        low = _cholesky(s2, jitter)
        s1 = low.T @ s1 @ low
    eig = torch.linalg.eigvalsh(0.5 * (s1 + s1.T))
    root = eig.clamp(min=eps).sqrt()  # gradient: 0 below eps, at most 1 / (2 sqrt(eps)) above
    return (root + (eig.clamp(min=0).sqrt() - root).detach()).sum()  # value: exact sqrt of max(l, 0)


def w2_squared_gaussians(
    m1: Tensor,
    s1: Tensor,
    m2: Optional[Tensor] = None,
    s2: Optional[Tensor] = None,
    eps: float = 1e-8,
    jitter: float = 1e-6,
) -> Tensor:
    """Squared 2-Wasserstein distance ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}) (eq. 6.5).

    ``m2=None``/``s2=None`` is N(0, I), where the distance is ||m1||^2 + tr S1 + J - 2 tr S1^{1/2}.
    """
    diff = m1 if m2 is None else m1 - m2
    tr2 = (
        torch.as_tensor(float(m1.shape[-1]), dtype=m1.dtype, device=m1.device)
        if s2 is None
        else torch.trace(s2)
    )
    return diff.pow(2).sum() + torch.trace(s1) + tr2 - 2 * trace_sqrt_product(s1, s2, eps, jitter)


def _standard_if_none(m: Optional[Tensor], s: Optional[Tensor], like: Tensor) -> tuple[Tensor, Tensor]:
    """(m, s) with None replaced by the zero vector / identity matrix shaped like ``like`` (J,)."""
    return (torch.zeros_like(like) if m is None else m), (_identity_like(like) if s is None else s)


def kl_gaussians(
    m1: Optional[Tensor],
    s1: Optional[Tensor],
    m2: Optional[Tensor] = None,
    s2: Optional[Tensor] = None,
    jitter: float = 1e-6,
) -> Tensor:
    """KL(N(m1, S1) || N(m2, S2)) = 1/2 [tr(S2^-1 S1) + d' S2^-1 d - J + ln|S2| - ln|S1|] (eq. 6.4),
    d = m2 - m1, via Cholesky factors of S + ``jitter`` * I. A None mean/covariance is 0 / I."""
    like = m1 if m1 is not None else m2
    if like is None:
        raise ValueError("kl_gaussians needs at least one mean vector")
    m1, s1 = _standard_if_none(m1, s1, like)
    m2, s2 = _standard_if_none(m2, s2, like)
    l1, l2 = _cholesky(s1, jitter), _cholesky(s2, jitter)
    a = torch.linalg.solve_triangular(l2, l1, upper=False)  # L2^-1 L1: tr(S2^-1 S1) = ||a||_F^2
    maha = torch.linalg.solve_triangular(l2, (m2 - m1).unsqueeze(-1), upper=False).pow(2).sum()
    logdet_ratio = 2 * (torch.log(torch.diagonal(l2)).sum() - torch.log(torch.diagonal(l1)).sum())
    return 0.5 * (a.pow(2).sum() + maha - like.shape[-1] + logdet_ratio)


def _gaussian_log_prob(x: Tensor, m: Tensor, low: Tensor) -> Tensor:
    """log N(x; m, L L^T) per row."""
    sol = torch.linalg.solve_triangular(low, (x - m).T, upper=False)
    return (
        -0.5 * sol.pow(2).sum(0)
        - torch.log(torch.diagonal(low)).sum()
        - 0.5 * m.shape[-1] * math.log(2 * math.pi)
    )


def js_gaussians(
    m1: Tensor,
    s1: Tensor,
    m2: Optional[Tensor] = None,
    s2: Optional[Tensor] = None,
    method: str = "moment_matched",
    n_samples: int = 256,
    jitter: float = 1e-6,
) -> Tensor:
    """Jensen-Shannon divergence between N(m1, S1) and N(m2, S2) (None: N(0, I)); no closed form exists.

    - ``moment_matched`` (the spec's default): 1/2 KL(P1 || M) + 1/2 KL(P2 || M) with M the Gaussian
      that matches the mean and covariance of the mixture (P1 + P2)/2. Since a Gaussian has the
      largest entropy for its covariance, this equals h(M) - (h(P1) + h(P2))/2 >= the true JS: an
      upper bound, symmetric, zero iff P1 = P2, but not capped at ln 2.
    - ``symmetric_kl``: 1/2 [KL(P1 || P2) + KL(P2 || P1)] (the thesis' "JS collects IKL and FKL").
    - ``monte_carlo``: the true JS estimated with ``n_samples`` reparameterised draws from each
      Gaussian; every term ln p_i(x) - ln((p_1(x) + p_2(x)) / 2) is <= ln 2, so the estimate is
      <= ln 2 (unbiased; it may dip below 0 when P1 and P2 are close).
    """
    if method not in JS_METHODS:
        raise ConfigError(f"unknown JS method {method!r}; choose one of {list(JS_METHODS)}")
    m2, s2 = _standard_if_none(m2, s2, m1)
    if method == "symmetric_kl":
        return 0.5 * (kl_gaussians(m1, s1, m2, s2, jitter) + kl_gaussians(m2, s2, m1, s1, jitter))
    if method == "moment_matched":
        mm = 0.5 * (m1 + m2)
        diff = m1 - m2
        sm = 0.5 * (s1 + s2) + 0.25 * torch.outer(diff, diff)
        return 0.5 * (kl_gaussians(m1, s1, mm, sm, jitter) + kl_gaussians(m2, s2, mm, sm, jitter))
    l1, l2 = _cholesky(s1, jitter), _cholesky(s2, jitter)
    total = torch.zeros((), dtype=m1.dtype, device=m1.device)
    for own, (m, low) in enumerate(((m1, l1), (m2, l2))):
        x = m + torch.randn(n_samples, m1.shape[-1], dtype=m1.dtype, device=m1.device) @ low.T
        lps = torch.stack([_gaussian_log_prob(x, m1, l1), _gaussian_log_prob(x, m2, l2)])
        total = total + 0.5 * (lps[own] - (torch.logsumexp(lps, 0) - math.log(2.0))).mean()
    return total


def pairwise_sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """||a_i - b_j||^2 for all rows, shape (n, m), clamped at 0."""
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T).clamp(min=0)


def kernel_matrix(a: Tensor, b: Tensor, kernel: str = "rbf", scale: Optional[float] = None) -> Tensor:
    """k(a_i, b_j): ``rbf`` exp(-||a-b||^2 / scale) (InfoVAE; default scale J) or ``imq``
    scale / (scale + ||a-b||^2) (WAE; default scale 2J)."""
    if kernel not in KERNELS:
        raise ConfigError(f"unknown MMD kernel {kernel!r}; choose one of {list(KERNELS)}")
    j = a.shape[-1]
    c = float(scale) if scale is not None else (float(j) if kernel == "rbf" else 2.0 * j)
    if c <= 0:
        raise ConfigError(f"MMD kernel scale must be > 0, got {scale}")
    d2 = pairwise_sq_dists(a, b)
    return torch.exp(-d2 / c) if kernel == "rbf" else c / (c + d2)


def mmd2_unbiased(x: Tensor, y: Tensor, kernel: str = "rbf", scale: Optional[float] = None) -> Tensor:
    """Unbiased MMD^2 between samples ``x`` (n, J) and ``y`` (m, J), n, m >= 2 (Gretton et al. 2012):
    mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) - 2 mean_{i,j} k(x_i, y_j). May be < 0."""
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"unbiased MMD needs at least 2 samples on each side, got {n} and {m}")
    kxx, kyy, kxy = (
        kernel_matrix(x, x, kernel, scale),
        kernel_matrix(y, y, kernel, scale),
        kernel_matrix(x, y, kernel, scale),
    )
    sum_xx = kxx.sum() - torch.diagonal(kxx).sum()
    sum_yy = kyy.sum() - torch.diagonal(kyy).sum()
    return sum_xx / (n * (n - 1)) + sum_yy / (m * (m - 1)) - 2 * kxy.mean()

"""Representation and latent diagnostics of the thesis (ch. 6; spec §C3 and §M3), in nats.

Inputs are encoder outputs (posterior means ``mu`` and log-variances ``logvar`` of a diagonal
Gaussian q(z|x)), reconstructions, and codes re-encoded from generated data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from genexp.metrics.frechet import frechet_distance, gaussian_fit


def log_mse(a: Tensor, b: Tensor) -> float:
    """ln of the mean squared error over all entries (the thesis' "LL in X" / "LL in Z")."""
    return math.log(torch.mean((a.double() - b.double()) ** 2).item())


def kl_vae(mu: Tensor, logvar: Tensor) -> float:
    """D_KL^VAE = mean_i 1/2 sum_j (mu^2 + sigma^2 - ln sigma^2 - 1), i.e. E_x KL(q(z|x) || N(0, I))."""
    mu, logvar = mu.double(), logvar.double()
    return (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)).mean().item()


def conditional_entropy(logvar: Tensor) -> float:
    """h_q(z|x) = mean_i sum_j 1/2 ln(2 pi e sigma_ij^2)."""
    lv = logvar.double()
    return (0.5 * (math.log(2 * math.pi) + 1 + lv).sum(dim=1)).mean().item()


def kl_gaussians(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    """KL(N(m1, S1) || N(m2, S2)) = 1/2 [tr(S2^-1 S1) + (m2-m1)' S2^-1 "
    "(m2-m1) - J + ln det S2 - ln det S1]."""
    s2_inv = np.linalg.inv(s2)
    d = np.asarray(m2) - np.asarray(m1)
    _, logdet1 = np.linalg.slogdet(s1)
    _, logdet2 = np.linalg.slogdet(s2)
    return float(0.5 * (np.trace(s2_inv @ s1) + d @ s2_inv @ d - len(d) + logdet2 - logdet1))


def aggregate_posterior_gaps(
    mu: Tensor, prior_mean: np.ndarray | None = None, prior_cov: np.ndarray | None = None
) -> dict[str, float]:
    """Gaussian fit N(m, S) of the codes ``mu`` (unbiased S) compared with a Gaussian prior.

    ``kl_z``: D_KL^Z = KL(N(m, S) || N(0, I)) (the thesis' definition). ``agg_kl_prior`` and
    ``agg_w2_prior``: KL and 2-Wasserstein distance from N(m, S) to N(prior_mean, prior_cov)
    (the prior's moments; N(0, I) when not given).
    """
    m, s = gaussian_fit(mu)
    j = len(m)
    zero, eye = np.zeros(j), np.eye(j)
    pm = zero if prior_mean is None else np.asarray(prior_mean, float)
    pc = eye if prior_cov is None else np.asarray(prior_cov, float)
    return {
        "kl_z": kl_gaussians(m, s, zero, eye),
        "agg_kl_prior": kl_gaussians(m, s, pm, pc),
        "agg_w2_prior": math.sqrt(max(0.0, frechet_distance(m, s, pm, pc))),
    }


def per_sample_squared_error(a: Tensor, b: Tensor) -> Tensor:
    """Mean squared error per row (over all other dimensions), float64."""
    return (a.double() - b.double()).pow(2).flatten(1).mean(1)


def latent_diagnostics(
    mu: Tensor,
    logvar: Tensor,
    sq_err_x: Tensor | None = None,
    sq_err_z: Tensor | None = None,
    prior_mean: np.ndarray | None = None,
    prior_cov: np.ndarray | None = None,
) -> dict[str, float]:
    """All §C3 numbers available from the inputs given.

    ``sq_err_x``: per-sample MSE between x and its reconstruction -> ``log_mse_x``;
    ``sq_err_z``: per-sample MSE between z ~ p(z) and mu(G(z)) -> ``log_mse_z`` (both
    ln of the overall mean, i.e. :func:`log_mse`). Always: ``kl_vae``, ``kl_z``, ``mi_q``
    (Ĩ_q = D_KL^VAE - D_KL^Z), ``h_q_zx``, ``agg_kl_prior``, ``agg_w2_prior``.
    """
    out: dict[str, float] = {}
    if sq_err_x is not None:
        out["log_mse_x"] = math.log(sq_err_x.double().mean().item())
    if sq_err_z is not None:
        out["log_mse_z"] = math.log(sq_err_z.double().mean().item())
    out["kl_vae"] = kl_vae(mu, logvar)
    out.update(aggregate_posterior_gaps(mu, prior_mean, prior_cov))
    out["mi_q"] = out["kl_vae"] - out["kl_z"]
    out["h_q_zx"] = conditional_entropy(logvar)
    return out


def linear_probe_accuracy(
    z_train: Tensor, y_train: Tensor, z_test: Tensor, y_test: Tensor, max_iter: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Softmax regression (scikit-learn, standardised inputs) on frozen codes, train -> test.

    Returns ``linear_probe_acc`` (test accuracy) and ``linear_probe_train_acc``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def np_(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))
    clf.fit(np_(z_train).astype(np.float64), np_(y_train).astype(np.int64))
    return {
        "linear_probe_acc": float(clf.score(np_(z_test).astype(np.float64), np_(y_test).astype(np.int64))),
        "linear_probe_train_acc": float(
            clf.score(np_(z_train).astype(np.float64), np_(y_train).astype(np.int64))
        ),
    }

"""2-D toy metrics: PGMGAN's modes / high-quality % / reverse KL, mode shares, off-support and
low-density fractions (SC-GAN reproduction choices)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genexp.metrics.modes import mode_counts, reverse_kl_to_uniform


def nearest_mode(x: Tensor, means: Tensor) -> Tensor:
    """Index of the nearest mean (L2) for each row of ``x``."""
    return torch.cdist(x.double(), means.double()).argmin(dim=1)


def high_quality_hits(x: Tensor, means: Tensor, sigma: float, k: float = 3.0) -> Tensor:
    """Boolean ``(n, M)``: sample i lies within ``k`` sigma of mean m in *every* coordinate."""
    diff = (x.double().unsqueeze(1) - means.double().unsqueeze(0)).abs().amax(dim=2)
    return diff < k * sigma


def gmm_log_density(x: Tensor, means: Tensor, sigma: float) -> Tensor:
    """Log density of an equally weighted isotropic Gaussian mixture (std ``sigma``) at each row."""
    x, means = x.double(), means.double()
    d = x.shape[1]
    sq = torch.cdist(x, means).pow(2)
    log_comp = -0.5 * sq / sigma**2 - 0.5 * d * math.log(2 * math.pi * sigma**2)
    return torch.logsumexp(log_comp, dim=1) - math.log(len(means))


def low_density_fraction(
    samples: Tensor, reference: Tensor, log_density: Callable[[Tensor], Tensor], quantile: float = 0.01
) -> tuple[float, float]:
    """Fraction of ``samples`` whose true log density is below the ``quantile`` of ``reference``'s.

    Returns (fraction, threshold). Real data scores ``quantile`` by construction (SC-GAN spec §6).
    """
    threshold = torch.quantile(log_density(reference).double(), quantile).item()
    frac = (log_density(samples).double() < threshold).double().mean().item()
    return frac, threshold


def off_support_fraction(samples: Tensor, on_support: Callable[[Tensor], Tensor]) -> float:
    """Fraction of samples outside the exact support (e.g. the checkerboard's squares)."""
    return 1.0 - on_support(samples).double().mean().item()


def blurred_off_support_fraction(
    real: Tensor, on_support: Callable[[Tensor], Tensor], mse: float, seed: int = 0
) -> float:
    """Off-support fraction of real points ``real`` after adding N(0, mse·I) noise: the floor a
    generator whose samples are real points blurred by its reconstruction error (per-coordinate
    MSE ``mse``) cannot go below (SC-GAN issue 13). The noise comes from a generator seeded ``seed``."""
    if mse < 0:
        raise ValueError(f"mse must be >= 0, got {mse}")
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(real.shape, generator=gen, dtype=torch.float64)
    return off_support_fraction(real.double().cpu() + math.sqrt(mse) * noise, on_support)


def mode_metrics(samples: Tensor, means: Tensor, sigma: float, k: float = 3.0) -> dict[str, object]:
    """PGMGAN §6 on a set of 2-D samples.

    - ``hq_pct``: % of samples within ``k`` sigma (per coordinate) of some mean;
    - ``modes``: number of means with at least one high-quality sample;
    - ``reverse_kl``: sum_m p_m ln(M p_m), p_m the share of *all* samples nearest (L2) to mean m;
    - ``mode_share``: the p_m themselves, plus their min and max.
    """
    hits = high_quality_hits(samples, means, sigma, k)
    counts = mode_counts(nearest_mode(samples, means), len(means))
    share = counts.double() / max(1, len(samples))
    return {
        "modes": int(hits.any(dim=0).sum().item()),
        "modes_total": len(means),
        "hq_pct": 100.0 * hits.any(dim=1).double().mean().item(),
        "reverse_kl": reverse_kl_to_uniform(counts),
        "mode_share": [round(v, 6) for v in share.tolist()],
        "mode_share_min": share.min().item(),
        "mode_share_max": share.max().item(),
    }


def toy2d_metrics(
    samples: Tensor,
    means: Tensor | None = None,
    sigma: float | None = None,
    on_support: Callable[[Tensor], Tensor] | None = None,
    log_density: Callable[[Tensor], Tensor] | None = None,
    reference: Tensor | None = None,
    quantile: float = 0.01,
    hq_sigmas: float = 3.0,
) -> dict[str, object]:
    """Every 2-D metric the distribution allows: mode metrics (means + sigma), off-support
    fraction (``on_support``), and the low-density fraction (a density and reference samples)."""
    out: dict[str, object] = {}
    if means is not None and sigma is not None:
        out.update(mode_metrics(samples, means, sigma, hq_sigmas))
        if log_density is None:
            log_density = lambda x: gmm_log_density(x, means, sigma)
    if on_support is not None:
        out["off_support_frac"] = off_support_fraction(samples, on_support)
    if log_density is not None and reference is not None:
        frac, thr = low_density_fraction(samples, reference, log_density, quantile)
        out["low_density_frac"] = frac
        out["low_density_threshold"] = thr
    return out

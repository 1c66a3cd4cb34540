"""Synthetic periodic variable stars (spec §P5): five class shapes, irregular heteroscedastic
sampling, seeded. Returns raw (unfolded) curves; :mod:`genexp.data.lightcurves` folds them.

Two settings of the side features (period, amplitude): ``separated`` (spec §P5: periods per class
from distinct log-normal ranges, so ln p alone nearly identifies the class) and ``overlapping``
(periods and amplitudes from ranges that overlap across classes, as in real catalogues, where
e.g. W UMa and first-overtone RR Lyrae periods coincide: the class must be read from the shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

# class name -> (median period [days], amplitude range [mag]); periods are log-normal around the
# median (sigma PERIOD_LOG_STD in ln days), so ln(period) separates the classes (f's third entry)
CLASSES: dict[str, tuple[float, tuple[float, float]]] = {
    "delta_scuti": (0.08, (0.05, 0.2)),  # (a) sinusoid, small amplitude, short period
    "rr_lyrae_fm": (0.6, (0.5, 1.0)),  # (b) sawtooth: fast rise, slow decline
    "rr_lyrae_fo": (0.3, (0.3, 0.5)),  # (c) near-sinusoid with a harmonic
    "beta_persei": (2.5, (0.3, 1.0)),  # (d) flat with two narrow unequal dips
    "w_uma": (0.4, (0.2, 0.6)),  # (e) continuous double wave, equal minima
}
PERIOD_LOG_STD = 0.1
# feature_ranges=overlapping: class name -> (period range [days], log-uniform; amplitude range [mag])
OVERLAPPING: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "delta_scuti": ((0.2, 0.5), (0.2, 0.6)),
    "rr_lyrae_fm": ((0.3, 0.7), (0.3, 0.8)),
    "rr_lyrae_fo": ((0.2, 0.45), (0.2, 0.6)),
    "beta_persei": ((0.3, 1.0), (0.2, 0.8)),
    "w_uma": ((0.2, 0.5), (0.2, 0.7)),
}
FEATURE_RANGES = ("separated", "overlapping")
FeatureRanges = Literal["separated", "overlapping"]
BASELINE_DAYS = 1000.0


@dataclass
class RawCurve:
    """One light curve: observation times, magnitudes, errors (1-D arrays), period, class index."""

    time: np.ndarray
    mag: np.ndarray
    err: np.ndarray
    period: float
    label: int


def template(name: str, u: np.ndarray) -> np.ndarray:
    """The class' magnitude offset at phase ``u`` in [0, 1) for unit amplitude (larger = fainter)."""
    if name == "delta_scuti":
        return np.sin(2 * np.pi * u)
    if name == "rr_lyrae_fm":
        rise = 0.15
        bright = np.where(u < rise, u / rise, (1 - u) / (1 - rise))
        return -bright
    if name == "rr_lyrae_fo":
        return np.sin(2 * np.pi * u) + 0.25 * np.sin(4 * np.pi * u + 0.5)
    if name == "beta_persei":
        width = 0.03
        d0 = np.minimum(u, 1 - u)
        d1 = np.abs(u - 0.5)
        return np.exp(-0.5 * (d0 / width) ** 2) + 0.4 * np.exp(-0.5 * (d1 / width) ** 2)
    if name == "w_uma":
        return 0.5 * (1 + np.cos(4 * np.pi * u))
    raise KeyError(f"unknown light-curve class {name!r}; known: {list(CLASSES)}")


def draw_period_and_amplitude(
    rng: np.random.Generator, name: str, feature_ranges: FeatureRanges = "separated"
) -> tuple[float, float]:
    """One curve's period and amplitude: ``separated``: log-normal around the class median and
    U(class range) of :data:`CLASSES`; ``overlapping``: log-uniform and uniform on the class
    ranges of :data:`OVERLAPPING`."""
    if feature_ranges == "separated":
        median, (amp_lo, amp_hi) = CLASSES[name]
        period = median * np.exp(PERIOD_LOG_STD * rng.standard_normal())
        return float(period), float(rng.uniform(amp_lo, amp_hi))
    if feature_ranges == "overlapping":
        (p_lo, p_hi), (amp_lo, amp_hi) = OVERLAPPING[name]
        period = np.exp(rng.uniform(np.log(p_lo), np.log(p_hi)))
        return float(period), float(rng.uniform(amp_lo, amp_hi))
    raise ValueError(f"feature_ranges must be one of {FEATURE_RANGES}, got {feature_ranges!r}")


def generate_curves(
    n_per_class: int,
    seed: int,
    min_len: int = 40,
    max_len: int = 200,
    feature_ranges: FeatureRanges = "separated",
) -> list[RawCurve]:
    """``n_per_class`` curves of every class in :data:`CLASSES` (labels in that order), seeded.

    Each curve: period and amplitude from :func:`draw_period_and_amplitude`, phase
    shift ~ U[0, 1), mean magnitude ~ U[12, 17], n ~ U{min_len..max_len} observation times
    ~ U[0, 1000 days] (irregular), errors sigma_j = amp * c * U[0.5, 1.5] with a per-curve level
    c ~ U[0.02, 0.1] (heteroscedastic across points and curves), magnitudes = template + N(0, sigma_j^2).
    """
    rng = np.random.default_rng(seed)
    curves = []
    for label, name in enumerate(CLASSES):
        for _ in range(n_per_class):
            period, amp = draw_period_and_amplitude(rng, name, feature_ranges)
            shift = rng.uniform()
            n = int(rng.integers(min_len, max_len + 1))
            time = np.sort(rng.uniform(0, BASELINE_DAYS, n))
            err = amp * rng.uniform(0.02, 0.1) * rng.uniform(0.5, 1.5, n)
            phase = np.mod(time / period + shift, 1.0)
            mag = rng.uniform(12, 17) + amp * template(name, phase) + err * rng.standard_normal(n)
            curves.append(RawCurve(time, mag, err, period, label))
    return curves

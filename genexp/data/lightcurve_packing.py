"""The packed light-curve format: variable-length folded curves as one float tensor (n, 5, T).

Channel 0 = folded phase t in [0, 1), 1 = normalised magnitude, 2 = normalised error, 3 = mask
(1 = observed point, 0 = padding), 4 = the side features f = (mean, std, log period) in positions
0..2 (rest zero; the datamodule standardises them with the training split's statistics).
:func:`pack_curves` writes it from raw curves, :func:`unpack` reads a batch of it.

Folding (eq. 9.1) leaves the phase origin (the epoch) arbitrary. ``phase_align="faintest"`` fixes
it per curve, without labels: phase 0 is put at the faintest point of the curve's two-harmonic
least-squares fit (:func:`faintest_phase`), as per-curve normalisation fixes the magnitude origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from torch import Tensor

from genexp.data.lightcurve_generator import RawCurve

NUM_CHANNELS = 5
NUM_FEATURES = 3
PHASE_ALIGNS = ("none", "faintest")
PhaseAlign = Literal["none", "faintest"]


@dataclass
class LightCurveBatch:
    """The parts of a packed batch: t, mag, err, mask (n, T) and features f (n, 3)."""

    t: Tensor
    mag: Tensor
    err: Tensor
    mask: Tensor
    f: Tensor


def unpack(x: Tensor) -> LightCurveBatch:
    """Split a packed (n, 5, T) batch into its parts."""
    return LightCurveBatch(x[:, 0], x[:, 1], x[:, 2], x[:, 3], x[:, 4, :NUM_FEATURES])


def fold(time: np.ndarray, period: float) -> np.ndarray:
    """Phase t_fold = mod(t, p) / p in [0, 1) (thesis eq. 9.1)."""
    return np.mod(time, period) / period


def faintest_phase(phase: np.ndarray, mag: np.ndarray, grid: int = 400) -> float:
    """The phase in [0, 1) of the maximum (faintest magnitude) of the least-squares fit
    a0 + sum_{k=1,2} (a_k cos 2 pi k t + b_k sin 2 pi k t) to (``phase``, ``mag``), evaluated on
    ``grid`` phases; 0 for curves with fewer than 5 points (too few for the fit)."""
    if len(phase) < 5:
        return 0.0

    def basis(t: np.ndarray) -> np.ndarray:
        w = 2 * np.pi * np.asarray(t, dtype=np.float64)[:, None] * np.array([1.0, 2.0])
        return np.concatenate([np.ones((len(t), 1)), np.cos(w), np.sin(w)], axis=1)

    coef = np.linalg.lstsq(basis(phase), np.asarray(mag, dtype=np.float64), rcond=None)[0]
    g = np.arange(grid) / grid
    return float(g[np.argmax(basis(g) @ coef)])


def normalise(mag: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(mag - m) / s and err / s with the curve's own magnitude mean m and std s; returns m, s too."""
    m = float(mag.mean())
    s = float(mag.std())
    s = s if s > 0 else 1.0
    return (mag - m) / s, err / s, m, s


def pack_curves(
    curves: Sequence[RawCurve], max_len: int, seed: int = 0, phase_align: PhaseAlign = "none"
) -> tuple[np.ndarray, np.ndarray]:
    """Fold (and with ``phase_align="faintest"`` shift the phases so that :func:`faintest_phase`
    is 0), normalise, sort by phase and pad ``curves`` into (n, 5, max_len); also the raw
    features (n, 3) = (mean, std, ln period). Longer curves are subsampled (seeded) to max_len."""
    if phase_align not in PHASE_ALIGNS:
        raise ValueError(f"phase_align must be one of {PHASE_ALIGNS}, got {phase_align!r}")
    rng = np.random.default_rng(seed)
    x = np.zeros((len(curves), NUM_CHANNELS, max_len), dtype=np.float32)
    feats = np.zeros((len(curves), NUM_FEATURES), dtype=np.float64)
    for i, c in enumerate(curves):
        keep = np.arange(len(c.time))
        if len(keep) > max_len:
            keep = np.sort(rng.choice(keep, max_len, replace=False))
        phase = fold(c.time[keep], c.period)
        if phase_align == "faintest":
            phase = np.mod(phase - faintest_phase(phase, c.mag[keep]), 1.0)
        order = np.argsort(phase)
        mag, err, m, s = normalise(c.mag[keep][order], c.err[keep][order])
        n = len(keep)
        x[i, 0, :n], x[i, 1, :n], x[i, 2, :n], x[i, 3, :n] = phase[order], mag, err, 1.0
        feats[i] = (m, s, np.log(c.period))
    return x, feats

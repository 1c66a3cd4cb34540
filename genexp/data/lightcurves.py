"""Folded, normalised, padded light curves and the leave-one-class-out anomaly protocol (spec §L.5).

A split's x is one float tensor (n, 5, T) so that metrics and models see ordinary (x, y) batches:
channel 0 = folded phase t in [0, 1), 1 = normalised magnitude, 2 = normalised error, 3 = mask
(1 = observed point, 0 = padding), 4 = the side features f = (mean, std, log period),
standardised with the training split's statistics, in positions 0..2 (rest zero): the format
of :mod:`genexp.data.lightcurve_packing` (``unpack`` reads it). Labels: inlier classes are
0..K-1 (in class order), the held-out class is K; ``class_names`` lists the names in label order.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.data.base import InMemoryDataModule, OnDevice, TensorBatchLoader, _rank_and_world
from genexp.data.lightcurve_generator import CLASSES, FeatureRanges, RawCurve, generate_curves
from genexp.data.lightcurve_packing import NUM_CHANNELS, NUM_FEATURES, PHASE_ALIGNS, PhaseAlign, pack_curves
from genexp.errors import ConfigError


def anomaly_split(
    labels: np.ndarray, outlier: int, seed: int, n_anom: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of the leave-one-class-out protocol (spec §L.5).

    N_anom = ``n_anom`` or the size of the smallest class; test = N_anom outliers + N_anom inliers
    (inlier class proportions kept, largest-remainder rounding); train = all remaining inliers.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    n_anom = int(n_anom or counts.min())
    out_idx = np.flatnonzero(labels == outlier)
    if n_anom > len(out_idx):
        raise ConfigError(f"dataset.n_anom={n_anom} exceeds the {len(out_idx)} curves of the outlier class")
    inlier_classes = [c for c in classes if c != outlier]
    inl_counts = np.array([np.sum(labels == c) for c in inlier_classes], dtype=np.float64)
    share = inl_counts / inl_counts.sum() * n_anom
    take = np.floor(share).astype(int)
    take[np.argsort(-(share - take))[: n_anom - take.sum()]] += 1
    test, train = [rng.choice(out_idx, n_anom, replace=False)], []
    for c, k in zip(inlier_classes, take):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


class BalancedBatchLoader(TensorBatchLoader):
    """A :class:`TensorBatchLoader` whose epochs draw indices with class-balanced probabilities
    (each class equally likely, with replacement; same epoch length), seeded by (seed, epoch)."""

    def _indices(self) -> Tensor:
        counts = torch.bincount(self.y.clamp_min(0))
        weights = 1.0 / counts[self.y.clamp_min(0)].double()
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        idx = torch.multinomial(weights, len(self.x), replacement=True, generator=gen)
        rank, world = _rank_and_world()
        per_rank = len(idx) // world
        return idx[rank * per_rank : (rank + 1) * per_rank]


class LightCurveDataModule(InMemoryDataModule):
    """Light curves under the anomaly protocol; subclasses implement :meth:`raw_curves`.

    ``outlier_class``: the held-out class name (null: the minority class, first in class order on
    ties); the split follows :func:`anomaly_split`. There is no validation set: "val" is the
    training split (the loss monitored for checkpoints is the training loss, spec §L.4).
    ``balanced``: class-balanced training batches (the thesis forces label balance, uniform pi).
    ``phase_align``: ``none`` (eq. 9.1's fold) or ``faintest`` (each curve's phase origin at the
    faintest point of its two-harmonic fit; see :mod:`genexp.data.lightcurve_packing`).
    """

    kind = "sequence"

    def __init__(
        self,
        name: str,
        shape: Sequence[int],
        num_classes: int,
        num_inlier_classes: int,
        outlier_class: Optional[str] = None,
        n_anom: Optional[PositiveInt] = None,
        balanced: bool = True,
        batch_size: PositiveInt = 128,
        eval_batch_size: Optional[PositiveInt] = None,
        seed: int = 0,
        value_range: Optional[Sequence[float]] = None,
        on_device: OnDevice = "auto",
        phase_align: PhaseAlign = "none",
    ) -> None:
        super().__init__(name, shape, batch_size, eval_batch_size, num_classes, value_range, seed, on_device)
        if len(self.shape) != 2 or self.shape[0] != NUM_CHANNELS:
            raise ConfigError(f"dataset.shape must be [{NUM_CHANNELS}, max_len], got {list(shape)}")
        if num_inlier_classes != num_classes - 1:
            raise ConfigError(f"dataset.num_inlier_classes must be num_classes - 1 = {num_classes - 1}")
        if phase_align not in PHASE_ALIGNS:
            raise ConfigError(f"dataset.phase_align must be one of {list(PHASE_ALIGNS)}, got {phase_align!r}")
        self.phase_align = phase_align
        self.max_len = self.shape[1]
        self.outlier_class = outlier_class
        self.n_anom = n_anom
        self.balanced = balanced
        self.class_names: list[str] = []
        self.outlier_classes = [num_classes - 1]
        self.protocol: dict = {}

    def raw_curves(self) -> tuple[list[RawCurve], list[str]]:
        """All curves (labels index the returned class names)."""
        raise NotImplementedError

    def load_splits(self) -> dict[str, tuple[Tensor, Optional[Tensor]]]:
        """Pack all curves, apply the protocol, relabel (outlier last), standardise f on train."""
        curves, names = self.raw_curves()
        if len(names) != self.num_classes:
            raise ConfigError(
                f"dataset.num_classes={self.num_classes} but the data has {len(names)} classes {names}"
            )
        labels = np.array([c.label for c in curves])
        if self.outlier_class is None:
            outlier = int(np.argmin(np.bincount(labels, minlength=len(names))))
        elif self.outlier_class in names:
            outlier = names.index(self.outlier_class)
        else:
            raise ConfigError(f"dataset.outlier_class={self.outlier_class!r} is not one of {names}")
        x, feats = pack_curves(curves, self.max_len, self.seed, self.phase_align)
        train, test = anomaly_split(labels, outlier, self.seed, self.n_anom)
        order = [k for k in range(len(names)) if k != outlier] + [outlier]
        relabel = np.argsort(order)
        self.class_names = [names[k] for k in order]
        mean, std = feats[train].mean(0), feats[train].std(0) + 1e-8
        x[:, 4, :NUM_FEATURES] = (feats - mean) / std
        y = torch.as_tensor(relabel[labels], dtype=torch.long)
        xt = torch.as_tensor(x)
        self.protocol = {
            "outlier_class": names[outlier],
            "n_train": len(train),
            "n_test": len(test),
            "n_test_outliers": int((labels[test] == outlier).sum()),
        }
        tr = (xt[train], y[train])
        return {"train": tr, "val": tr, "test": (xt[test], y[test])}

    def train_dataloader(self) -> TensorBatchLoader:
        """Class-balanced (``balanced``) or uniformly shuffled training batches."""
        if not self.balanced:
            return super().train_dataloader()
        x, y = self.split("train")
        return self.track_progress(
            BalancedBatchLoader(
                x,
                y,
                batch_size=self.batch_size,
                shuffle=True,
                drop_last=True,
                seed=self.seed,
                to_device=self.device_mover(),
            )
        )


class SyntheticLightCurves(LightCurveDataModule):
    """``n_per_class`` synthetic curves of each class of :mod:`genexp.data.lightcurve_generator`;
    ``feature_ranges``: ``separated`` (spec §P5: per-class period ranges) or ``overlapping``
    (periods and amplitudes from ranges shared across classes, as in real catalogues)."""

    def __init__(
        self,
        n_per_class: PositiveInt = 500,
        min_len: PositiveInt = 40,
        feature_ranges: FeatureRanges = "separated",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not 1 <= min_len <= self.max_len:
            raise ConfigError(f"dataset.min_len must be in [1, {self.max_len}], got {min_len}")
        if feature_ranges not in ("separated", "overlapping"):
            raise ConfigError(
                f"dataset.feature_ranges must be separated or overlapping, got {feature_ranges!r}"
            )
        self.n_per_class = int(n_per_class)
        self.min_len = int(min_len)
        self.feature_ranges = feature_ranges

    def raw_curves(self) -> tuple[list[RawCurve], list[str]]:
        """Generated curves (seeded by ``seed``)."""
        curves = generate_curves(self.n_per_class, self.seed, self.min_len, self.max_len, self.feature_ranges)
        return curves, list(CLASSES)

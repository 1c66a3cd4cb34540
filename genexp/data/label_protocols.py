"""Label protocols on labelled splits: hold classes out of training (novelty detection) and keep
only the first n training labels (semi-supervised learning; the rest become -1)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from genexp.errors import ConfigError

Split = tuple[Tensor, Optional[Tensor]]
UNLABELLED = -1
"""The label of a training image whose label is hidden (genexp's loaders use it for "no label")."""


def check_classes(classes: Sequence[int], num_classes: Optional[int], key: str) -> list[int]:
    """``classes`` as a list of ints in [0, num_classes), or a :class:`ConfigError` naming ``key``."""
    out = [int(c) for c in classes]
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"{key} must be a non-empty list of distinct class indices, got {list(classes)}")
    if num_classes is None:
        raise ConfigError(f"{key} needs a dataset with class labels (num_classes is null)")
    bad = [c for c in out if not 0 <= c < num_classes]
    if bad:
        raise ConfigError(f"{key}={out}: classes {bad} are outside 0..{num_classes - 1}")
    if len(out) >= num_classes:
        raise ConfigError(f"{key}={out} would hold out every class; keep at least one inlier class")
    return out


def drop_classes(split: Split, classes: Sequence[int], name: str) -> Split:
    """The rows of ``split`` whose label is not in ``classes`` (labels are required)."""
    x, y = split
    if y is None:
        raise ConfigError(f"dataset.outlier_classes needs labels, but the {name} split has none")
    keep = ~torch.isin(y, torch.as_tensor(list(classes), dtype=y.dtype, device=y.device))
    return x[keep], y[keep]


def hide_labels(split: Split, n_labelled: int) -> Split:
    """``split`` with every label after the first ``n_labelled`` set to :data:`UNLABELLED`."""
    x, y = split
    if y is None:
        raise ConfigError("dataset.labelled needs a dataset with labels")
    if not 0 < int(n_labelled) <= len(y):
        raise ConfigError(
            f"dataset.labelled={n_labelled} must be between 1 and the training split's size ({len(y)})"
        )
    y = y.clone()
    y[int(n_labelled) :] = UNLABELLED
    return x, y

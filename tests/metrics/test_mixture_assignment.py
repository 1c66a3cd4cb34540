"""Max-responsibility component accuracy and the 2-D view of codes."""

from __future__ import annotations

import pytest
import torch

from genexp.metrics.mixture_assignment import component_accuracy, pca_2d


def test_component_accuracy_does_not_relabel_components() -> None:
    resp = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert component_accuracy(resp, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)
    # every code in the "wrong" component: 0, although a relabelling would make it 1
    assert component_accuracy(resp, torch.tensor([1, 0, 1, 0])) == 0.0
    with pytest.raises(ValueError, match="equally many"):
        component_accuracy(resp, torch.tensor([0]))


def test_pca_2d_is_an_isometry_on_planar_codes() -> None:
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
    plane = torch.randn(40, 2, generator=gen, dtype=torch.float64)
    z = plane @ q[:, :2].T + 3.0  # codes on a shifted 2-D plane in R^5
    means = torch.randn(4, 2, generator=gen, dtype=torch.float64) @ q[:, :2].T + 3.0
    z2, m2, how = pca_2d(z, means)
    assert how == "pca" and z2.shape == (40, 2) and m2.shape == (4, 2)
    both, both2 = torch.cat([z, means]), torch.cat([z2, m2])
    torch.testing.assert_close(torch.cdist(both2, both2), torch.cdist(both, both), atol=1e-6, rtol=1e-9)
    same, none, how = pca_2d(plane)
    assert how == "codes" and none is None and torch.equal(same, plane)


def test_one_row_is_enough_and_no_rows_is_an_error() -> None:
    assert component_accuracy(torch.tensor([[0.2, 0.8]]), torch.tensor([1])) == 1.0
    with pytest.raises(ValueError, match="got 0 and 0"):
        component_accuracy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))


def test_pca_2d_projects_three_columns_and_passes_extra_through() -> None:
    z3 = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    z2, none, how = pca_2d(z3)
    assert how == "pca" and z2.shape == (4, 2) and none is None
    codes, means = torch.randn(5, 2), torch.randn(3, 2, dtype=torch.float32)
    _, extra, how = pca_2d(codes, means)
    assert how == "codes" and extra.dtype == torch.float64 and torch.equal(extra, means.double())

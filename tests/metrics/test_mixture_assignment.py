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

"""genexp.metrics.toy2d: the high-quality radius, quantile and seed defaults, asymmetric mode sets,
and which metrics ``toy2d_metrics`` computes from the inputs it is given."""

from __future__ import annotations

import pytest
import torch

from genexp.metrics.toy2d import (
    blurred_off_support_fraction,
    gmm_log_density,
    high_quality_hits,
    low_density_fraction,
    mode_metrics,
    off_support_fraction,
    toy2d_metrics,
)

MEANS = torch.tensor([[5.0, 5.0], [5.0, -3.0]])  # not symmetric about 0: -m is no mode
SIGMA = 0.1


def test_high_quality_radius_defaults_to_three_sigma_around_the_mean_itself() -> None:
    x = MEANS[0] + torch.tensor([[0.0, 0.0], [2.9 * SIGMA, 0.0], [3.1 * SIGMA, 0.0]])
    assert high_quality_hits(x, MEANS, SIGMA).tolist() == [[True, False], [True, False], [False, False]]
    assert high_quality_hits(x, MEANS, SIGMA, k=4.0)[:, 0].tolist() == [True, True, True]
    edge = MEANS[:1] + torch.tensor([[0.75, 0.0]])  # exactly 3 sigma = 0.75: the spec's |x - mu| < 3 sigma
    assert high_quality_hits(edge, MEANS, 0.25).tolist() == [[False, False]]


def test_mode_metrics_use_the_given_radius_and_a_single_sample() -> None:
    x = MEANS[1] + torch.tensor([[1.5 * SIGMA, 0.0]])
    assert mode_metrics(x, MEANS, SIGMA)["modes"] == 1
    one = mode_metrics(x, MEANS, SIGMA, k=1.0)
    assert one["modes"] == 0 and one["hq_pct"] == 0.0
    assert one["mode_share"] == [0.0, 1.0] and one["mode_share_max"] == 1.0


def test_low_density_fraction_is_the_share_strictly_below_the_reference_quantile() -> None:
    first = lambda x: x[:, 0]  # noqa: E731  a "log density" that is the first coordinate
    reference = torch.stack([torch.arange(101.0), torch.zeros(101)], 1)  # 1 % quantile: exactly 1.0
    samples = torch.tensor([[0.5, 0.0], [1.0, 0.0], [2.0, 0.0]])
    frac, threshold = low_density_fraction(samples, reference, first)
    assert threshold == 1.0 and frac == pytest.approx(1 / 3)
    assert low_density_fraction(samples, reference, first, quantile=0.015) == (pytest.approx(2 / 3), 1.5)


def test_blurred_off_support_noise_is_seeded_not_global() -> None:
    inside = lambda x: (x.abs() <= 1.0).all(dim=1)  # noqa: E731
    real = torch.zeros(2000, 2)
    torch.manual_seed(1)
    a = blurred_off_support_fraction(real, inside, 0.5)
    torch.manual_seed(2)
    assert blurred_off_support_fraction(real, inside, 0.5) == a
    assert blurred_off_support_fraction(real, inside, 0.5, seed=7) != a
    with pytest.raises(ValueError, match="mse must be >= 0, got -0.1"):
        blurred_off_support_fraction(real, inside, -0.1)


def test_toy2d_metrics_computes_what_its_inputs_allow() -> None:
    gen = torch.Generator().manual_seed(0)
    samples = MEANS[torch.arange(200) % 2] + 2 * SIGMA * torch.randn(200, 2, generator=gen)
    reference = MEANS[torch.arange(400) % 2] + SIGMA * torch.randn(400, 2, generator=gen)
    right = lambda x: x[:, 1] > 0  # noqa: E731
    out = toy2d_metrics(samples, MEANS, SIGMA, on_support=right, reference=reference, quantile=0.2)
    assert out["off_support_frac"] == off_support_fraction(samples, right) == 0.5
    density = lambda x: gmm_log_density(x, MEANS, SIGMA)  # noqa: E731  the default: the modes' mixture
    frac, thr = low_density_fraction(samples, reference, density, 0.2)
    assert (out["low_density_frac"], out["low_density_threshold"]) == (frac, thr) and 0.4 < frac < 1
    assert out["modes"] == 2 and out["hq_pct"] == mode_metrics(samples, MEANS, SIGMA)["hq_pct"] < 100
    assert toy2d_metrics(samples, MEANS, SIGMA, hq_sigmas=20.0)["hq_pct"] == 100.0
    assert toy2d_metrics(samples, MEANS) == {}  # no sigma: no mode metrics and no default density
    assert toy2d_metrics(samples, log_density=density) == {}  # a density without reference samples

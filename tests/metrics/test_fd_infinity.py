"""FD∞: the 1/N fit recovers a known intercept, identical sets extrapolate to ~0, and the subset
sizes, seeding and plot follow the protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genexp.metrics.fd_infinity import fd_infinity, fd_vs_n_figure, fit_inverse_n, subset_sizes


def features(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_fit_recovers_the_intercept_of_an_exact_one_over_n_law() -> None:
    sizes = [500, 1625, 2750, 3875, 5000]
    a, b = 3.25, 410.0
    intercept, slope = fit_inverse_n(sizes, [a + b / n for n in sizes])
    assert intercept == pytest.approx(a, abs=1e-9) and slope == pytest.approx(b, rel=1e-9)


def test_subset_sizes_span_a_tenth_to_all() -> None:
    assert subset_sizes(1000) == [100, 325, 550, 775, 1000]
    assert subset_sizes(10, points=5, min_fraction=0.1) == [2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match="at least 2 sample sizes"):
        subset_sizes(1000, points=1)
    with pytest.raises(ValueError, match="too few"):
        subset_sizes(2)


def test_identical_sets_extrapolate_to_zero() -> None:
    x = features(2000, 6, 0)
    out = fd_infinity(x, x, points=5, min_fraction=0.1, seed=1)
    sizes = [n for n, _ in out["fid_inf_points"]]
    assert sizes == [200, 650, 1100, 1550, 2000]
    fds = [fd for _, fd in out["fid_inf_points"]]
    assert abs(fds[-1]) < 1e-9  # the whole set against itself
    assert fds[0] > 0.02 and all(a > b for a, b in zip(fds, fds[1:]))  # the finite-N bias shrinks
    # subsets of the reference itself: FD_n ~ c (1/n - 1/N), so FD∞ ~ -c/N = -FD_{N/10} / 9
    assert -0.15 * fds[0] < out["fid_inf"] < 0.02 * fds[0]
    assert out["fid_inf_slope"] > 0


def test_subsets_follow_the_seed_and_the_plot_draws_the_fit() -> None:
    gen, ref = features(400, 3, 4) + 0.2, features(500, 3, 5)
    one, again, other = (
        fd_infinity(gen, ref, seed=7),
        fd_infinity(gen, ref, seed=7),
        fd_infinity(gen, ref, seed=8),
    )
    assert one == again and one["fid_inf_points"] != other["fid_inf_points"]
    assert one["fid_inf_points"][-1] == pytest.approx(other["fid_inf_points"][-1], rel=1e-9)  # all rows
    fig = fd_vs_n_figure(one["fid_inf_points"], one["fid_inf"], one["fid_inf_slope"], "t")
    line, dots = fig.axes[0].lines
    assert line.get_ydata()[0] == pytest.approx(one["fid_inf"])  # the fit at 1/N = 0
    np.testing.assert_allclose(dots.get_xdata(), [1 / n for n, _ in one["fid_inf_points"]])


def test_subset_sizes_at_their_bounds() -> None:
    # two points are enough, and give exactly two sizes: the smallest and all
    assert subset_sizes(10, points=2) == [2, 10]
    assert subset_sizes(3, points=2, min_fraction=0.5) == [2, 3]
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"min_fraction must be in \(0, 1\)"):
            subset_sizes(1000, min_fraction=bad)


def test_fd_infinity_defaults_and_min_fraction() -> None:
    gen, ref = features(100, 2, 6) + 0.5, features(120, 2, 7)
    default = fd_infinity(gen, ref)
    assert [n for n, _ in default["fid_inf_points"]] == subset_sizes(100) == [10, 32, 55, 78, 100]
    half = fd_infinity(gen, ref, points=3, min_fraction=0.5)
    assert [n for n, _ in half["fid_inf_points"]] == [50, 75, 100]


def test_the_figure_shows_the_fit_from_zero_and_the_measured_points() -> None:
    points = [[10, 5.0], [20, 3.0], [40, 2.0]]
    fig = fd_vs_n_figure(points, 1.25, 40.0)
    ax = fig.axes[0]
    line, dots = ax.lines
    x = np.linspace(0.0, 0.1, 50)  # from 1/N = 0 to 1 / (smallest N)
    np.testing.assert_allclose(line.get_xdata(), x)
    np.testing.assert_allclose(line.get_ydata(), 1.25 + 40.0 * x)
    assert dots.get_marker() == "o" and dots.get_linestyle() == "None"
    np.testing.assert_allclose(dots.get_ydata(), [5.0, 3.0, 2.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fit: FD∞ = 1.25", "FD at N samples"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("1 / N", "FD", "")
    assert ax.get_xlim()[0] == 0.0
    assert fd_vs_n_figure(points, 1.25, 40.0, "a title").axes[0].get_title() == "a title"

"""Toy distributions in 1-D/2-D, sampled exactly as the specs define them.

Every distribution has ``dim`` (the size of one sample), ``num_classes`` (number of components
when a sample has a natural component label, else ``None``), ``sample(n, generator)`` (an
``(n, dim)`` float tensor) and ``sample_with_labels(n, generator)`` (the same draw plus the
component labels, or ``None``). Gaussian mixtures also expose ``means`` (M x 2) and ``sigma``;
the checkerboard exposes ``on_support(x)``.

Sources of the definitions: ``ring8``/``grid25``: the PGMGAN spec (Self-Cond-GAN/PacGAN
convention, not scaled); ``eight_gaussians``, ``checkerboard``, ``two_spirals`` (FFJORD) and
``abs``, ``sinewave``, ``four_circles`` (NSF ``plane.py``): the SC-GAN spec; ``swiss_roll``,
``swiss_roll_1d``, ``uniform_square``, ``two_uniforms``: the GTN spec.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

from genexp.errors import ConfigError

Generator = Optional[torch.Generator]


def _randn(n: int, d: int, g: Generator) -> Tensor:
    return torch.randn(n, d, generator=g)


def _rand(n: int, g: Generator) -> Tensor:
    return torch.rand(n, generator=g)


class ToyDistribution:
    """Base class: subclasses implement :meth:`sample_with_labels`."""

    name: str = "toy"
    dim: int = 2
    num_classes: Optional[int] = None

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, Optional[Tensor]]:
        """``n`` samples ``(n, dim)`` and their component labels (``None`` if there are none)."""
        raise NotImplementedError

    def sample(self, n: int, generator: Generator = None) -> Tensor:
        """``n`` samples as an ``(n, dim)`` float tensor."""
        return self.sample_with_labels(n, generator)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class GaussianMixture2D(ToyDistribution):
    """Equally weighted isotropic Gaussians with the given ``means`` and common std ``sigma``."""

    def __init__(self, name: str, means: Tensor, sigma: float) -> None:
        self.name = name
        self.means = means.to(torch.float32)
        self.sigma = float(sigma)
        self.num_classes = len(means)

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, Tensor]:
        """Pick a component uniformly, then add ``sigma``-scaled standard normal noise."""
        labels = torch.randint(0, len(self.means), (n,), generator=generator)
        x = self.means[labels] + self.sigma * _randn(n, 2, generator)
        return x, labels

    def log_prob(self, x: Tensor) -> Tensor:
        """Log density of each row of ``x`` under the mixture."""
        means = self.means.to(x)
        sq = torch.cdist(x, means).pow(2)
        log_comp = -0.5 * sq / self.sigma**2 - math.log(2 * math.pi * self.sigma**2)
        return torch.logsumexp(log_comp, dim=1) - math.log(len(means))

    def nearest_mode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Index of the nearest mean for each row of ``x`` and the distance to it."""
        d = torch.cdist(x, self.means.to(x))
        dist, idx = d.min(dim=1)
        return idx, dist


def ring8(radius: float = 2.0, sigma: float = 0.01, n_modes: int = 8) -> GaussianMixture2D:
    """8 Gaussians on a circle: means (r sin θ_m, r cos θ_m), θ_m = 2πm/8, σ = 0.01."""
    theta = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    means = radius * torch.stack([torch.sin(theta), torch.cos(theta)], dim=1)
    return GaussianMixture2D("ring8", means, sigma)


def grid25(spacing: float = 2.0, sigma: float = 0.05, side: int = 5) -> GaussianMixture2D:
    """25 Gaussians at {-4,-2,0,2,4}^2 (component 5i+j at (2i-4, 2j-4)), σ = 0.05, unscaled."""
    coords = spacing * torch.arange(side, dtype=torch.float64) - spacing * (side - 1) / 2
    means = torch.cartesian_prod(coords, coords)
    return GaussianMixture2D("grid25", means, sigma)


def eight_gaussians(scale: float = 4.0, noise: float = 0.5, divisor: float = 1.414) -> GaussianMixture2D:
    """FFJORD's 8 Gaussians: (scale·c + noise·N(0,I)) / 1.414 for c on the unit circle at 45° steps.

    Means are ``scale·c/1.414`` (radius ≈ 2.83), σ = 0.5/1.414 ≈ 0.354; variance ≈ 4.13 per axis.
    """
    r = 1 / math.sqrt(2)
    unit = torch.tensor(
        [(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)], dtype=torch.float64
    )
    return GaussianMixture2D("eight_gaussians", scale * unit / divisor, noise / divisor)


class Checkerboard(ToyDistribution):
    """FFJORD checkerboard: 8 of the 16 2x2 squares of [-4, 4]^2, uniform on them."""

    name = "checkerboard"

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, None]:
        """x1 = 4U-2, x2 = U - 2·randint{0,1} + (floor(x1) mod 2); return 2·(x1, x2)."""
        x1 = _rand(n, generator) * 4 - 2
        x2_ = _rand(n, generator) - torch.randint(0, 2, (n,), generator=generator).float() * 2
        x2 = x2_ + torch.remainder(torch.floor(x1), 2)
        return 2 * torch.stack([x1, x2], dim=1), None

    @staticmethod
    def on_support(x: Tensor) -> Tensor:
        """True where ``max|x| < 4`` and ``(floor(x1/2) + floor(x2/2))`` is even."""
        inside = x.abs().amax(dim=1) < 4
        cells = torch.floor(x / 2).sum(dim=1)
        return inside & (torch.remainder(cells, 2) == 0)


class TwoSpirals(ToyDistribution):
    """FFJORD two spirals; label 0/1 is the arm (the FFJORD halves, drawn per point)."""

    name = "two_spirals"
    num_classes = 2

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, Tensor]:
        """n = sqrt(U)·540·2π/360; arm (-cos n·n + U/2, sin n·n + U/2), sign-flipped for arm 1; /3 + 0.1·N."""
        t = torch.sqrt(_rand(n, generator)) * 540 * (2 * math.pi) / 360
        dx = -torch.cos(t) * t + _rand(n, generator) * 0.5
        dy = torch.sin(t) * t + _rand(n, generator) * 0.5
        labels = torch.randint(0, 2, (n,), generator=generator)
        sign = 1.0 - 2.0 * labels.float()
        x = sign[:, None] * torch.stack([dx, dy], dim=1) / 3
        return x + 0.1 * _randn(n, 2, generator), labels


class FourCircles(ToyDistribution):
    """NSF four circles: radius 2, noise std 0.1, centred at (±1, ±1) (they overlap)."""

    name = "four_circles"
    num_classes = 4
    centers = torch.tensor([(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)])

    def __init__(self, radius: float = 2.0, noise: float = 0.1) -> None:
        self.radius = radius
        self.noise = noise

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, Tensor]:
        """Uniform circle index, uniform angle, point radius·(cos, sin) + noise·N - centre."""
        labels = torch.randint(0, 4, (n,), generator=generator)
        u = 2 * math.pi * _rand(n, generator)
        x = self.radius * torch.stack([torch.cos(u), torch.sin(u)], dim=1)
        x = x + self.noise * _randn(n, 2, generator)
        return x - self.centers[labels], labels


class FunctionOfGaussian(ToyDistribution):
    """NSF-style curve: x1 ~ N(0,1), x2 = f(x1) + noise_std·N(0,1)."""

    def __init__(self, name: str, fn: Callable[[Tensor], Tensor], noise_std: float) -> None:
        self.name = name
        self.fn = fn
        self.noise_std = noise_std

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, None]:
        """Draw x1, then x2 around ``fn(x1)``."""
        x1 = torch.randn(n, generator=generator)
        x2 = self.fn(x1) + self.noise_std * torch.randn(n, generator=generator)
        return torch.stack([x1, x2], dim=1), None


def abs_curve() -> FunctionOfGaussian:
    """NSF Abs: x2 = |x1| - 1 + e^{-1.5}·N(0,1) (a connected V)."""
    return FunctionOfGaussian("abs", lambda x: x.abs() - 1, math.exp(-1.5))


def sinewave() -> FunctionOfGaussian:
    """NSF SineWave (the spec's stand-in for "sinewaved cube"): x2 = sin(5 x1) + e^{-1}·N(0,1)."""
    return FunctionOfGaussian("sinewave", lambda x: torch.sin(5 * x), math.exp(-1.0))


class SwissRoll(ToyDistribution):
    """Noise-free swiss roll (GTN): θ ~ U(1.5π, 4.5π), f(θ) = θ·(cos θ, sin θ).

    With ``intrinsic=True`` the sample is the 1-D parameter θ, z-scored with the exact mean 3π
    and std 3π/√12 of U(1.5π, 4.5π); :meth:`to_curve` maps such values back to 2-D points.
    """

    low = 1.5 * math.pi
    high = 4.5 * math.pi

    def __init__(self, intrinsic: bool = False) -> None:
        self.intrinsic = intrinsic
        self.name = "swiss_roll_1d" if intrinsic else "swiss_roll"
        self.dim = 1 if intrinsic else 2
        self.mean = (self.low + self.high) / 2
        self.std = (self.high - self.low) / math.sqrt(12)

    @staticmethod
    def curve(theta: Tensor) -> Tensor:
        """f(θ) = θ·(cos θ, sin θ) for a 1-D tensor θ."""
        return theta[:, None] * torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)

    def to_curve(self, z: Tensor) -> Tensor:
        """Map z-scored parameters ``(n, 1)`` back to 2-D points f(θ)."""
        return self.curve(z.reshape(-1) * self.std + self.mean)

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, None]:
        """θ uniform; return f(θ) (2-D) or the z-scored θ (1-D)."""
        theta = self.low + (self.high - self.low) * _rand(n, generator)
        if self.intrinsic:
            return ((theta - self.mean) / self.std)[:, None], None
        return self.curve(theta), None


class ZScoredUniforms(ToyDistribution):
    """An equal mixture of axis-aligned uniform boxes, z-scored with the exact mixture moments.

    ``boxes`` is a list of ((x_lo, x_hi), (y_lo, y_hi)); one box gives GTN's U(0,1)^2, two give
    its "two disjoint uniforms" (Fig. 9). Labels are the box index when there is more than one.
    """

    def __init__(self, name: str, boxes: list[tuple[tuple[float, float], tuple[float, float]]]) -> None:
        self.name = name
        self.lo = torch.tensor([[b[0][0], b[1][0]] for b in boxes], dtype=torch.float64)
        self.hi = torch.tensor([[b[0][1], b[1][1]] for b in boxes], dtype=torch.float64)
        self.num_classes = len(boxes) if len(boxes) > 1 else None
        box_mean = (self.lo + self.hi) / 2
        box_second = (self.hi - self.lo) ** 2 / 12 + box_mean**2
        self.mean = box_mean.mean(0).float()
        self.std = (box_second.mean(0) - box_mean.mean(0) ** 2).sqrt().float()

    def sample_with_labels(self, n: int, generator: Generator = None) -> tuple[Tensor, Optional[Tensor]]:
        """Uniform box, uniform point inside it, then ``(x - mean) / std``."""
        labels = torch.randint(0, len(self.lo), (n,), generator=generator)
        lo, hi = self.lo[labels].float(), self.hi[labels].float()
        x = lo + (hi - lo) * torch.rand(n, 2, generator=generator)
        return (x - self.mean) / self.std, (labels if self.num_classes else None)


def uniform_square() -> ZScoredUniforms:
    """GTN's 2-D uniform: U(0,1)^2, z-scored."""
    return ZScoredUniforms("uniform_square", [((0.0, 1.0), (0.0, 1.0))])


def two_uniforms() -> ZScoredUniforms:
    """GTN Fig. 9 (geometry unspecified; the spec's choice): U([0,1]^2) ∪ U([2,3]x[0,1]), z-scored."""
    return ZScoredUniforms("two_uniforms", [((0.0, 1.0), (0.0, 1.0)), ((2.0, 3.0), (0.0, 1.0))])


DISTRIBUTIONS: dict[str, Callable[..., ToyDistribution]] = {
    "ring8": ring8,
    "grid25": grid25,
    "eight_gaussians": eight_gaussians,
    "checkerboard": Checkerboard,
    "two_spirals": TwoSpirals,
    "four_circles": FourCircles,
    "abs": abs_curve,
    "sinewave": sinewave,
    "swiss_roll": lambda: SwissRoll(intrinsic=False),
    "swiss_roll_1d": lambda: SwissRoll(intrinsic=True),
    "uniform_square": uniform_square,
    "two_uniforms": two_uniforms,
}


def make_distribution(name: str, **params) -> ToyDistribution:
    """The toy distribution called ``name``; ``params`` override its defaults (e.g. ``sigma``)."""
    if name not in DISTRIBUTIONS:
        raise ConfigError(f"unknown toy distribution {name!r}; choose one of {sorted(DISTRIBUTIONS)}")
    try:
        return DISTRIBUTIONS[name](**params)
    except TypeError as err:
        raise ConfigError(f"bad parameters {params} for toy distribution {name!r}: {err}") from None

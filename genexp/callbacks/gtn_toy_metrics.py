"""GTN toy checks at test time, chosen by the dataset: swiss_roll_1d, uniform_square, swiss_roll."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genexp.callbacks.metric_base import MetricCallback, datamodule_of
from genexp.metrics.gtn_toy import distance_to_curve, exact_quantile_map, uniform_ks, uniform_square_checks

SUPPORTED = ("swiss_roll_1d", "uniform_square", "swiss_roll")


class GTNToyChecks(MetricCallback):
    """On ``n_samples`` seeded samples: ``theta_ks``, ``theta_in_range``, ``map_rmse`` (rad, against
    F⁻¹(Φ(y)) on y ∈ [-3, 3]) for swiss_roll_1d; ``max_marginal_ks``, ``inside_frac``,
    ``cell_mass_min/max`` (5x5 cells) for uniform_square; and ``off_curve_frac`` (distance >
    ``off_curve_dist`` from the curve) for both swiss rolls."""

    default_name = "gtn_toy"

    def __init__(
        self, n_samples: int = 20000, seed: int = 0, off_curve_dist: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.n_samples = int(n_samples)
        self.seed = int(seed)
        self.off_curve_dist = float(off_curve_dist)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs one of the supported toy datasets."""
        dm = datamodule_of(trainer)
        if dm is None or getattr(dm, "name", None) not in SUPPORTED:
            return f"gtn_toy supports the datasets {list(SUPPORTED)}"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Samples, and for 1-D the regressor on a y grid."""
        was_training = pl_module.training
        pl_module.eval()
        out = self.gather_samples(trainer, pl_module, self.n_samples, self.seed)
        if pl_module.data_dim == 1 and hasattr(pl_module, "forward"):
            y = torch.linspace(-3, 3, 2001, device=pl_module.device)[:, None]
            out["grid_y"], out["grid_x"] = y.cpu(), pl_module(y).reshape(-1, 1).cpu()
        pl_module.train(was_training)
        return out

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The checks for the dataset at hand."""
        dm = datamodule_of(trainer)
        dist = dm.distribution
        x = collected["x"].double()
        out: dict[str, Any] = {}
        if dm.name == "uniform_square":
            return uniform_square_checks(x * dist.std.double() + dist.mean.double())
        theta_grid = torch.linspace(dist.low, dist.high, 20001, dtype=torch.float64)
        curve = dist.curve(theta_grid)
        if dm.name == "swiss_roll_1d":
            theta = x.reshape(-1) * dist.std + dist.mean
            out["theta_ks"] = uniform_ks(theta, dist.low, dist.high)
            out["theta_in_range"] = float(((theta >= dist.low) & (theta <= dist.high)).double().mean())
            if "grid_x" in collected:
                pred = collected["grid_x"].double().reshape(-1) * dist.std + dist.mean
                exact = exact_quantile_map(collected["grid_y"].reshape(-1), dist.low, dist.high)
                out["map_rmse"] = float((pred - exact).pow(2).mean().sqrt())
            points = dist.curve(theta)
        else:
            points = x
        d = distance_to_curve(points, curve)
        out["off_curve_frac"] = float((d > self.off_curve_dist).double().mean())
        out["off_curve_median_dist"] = float(d.median())
        return out

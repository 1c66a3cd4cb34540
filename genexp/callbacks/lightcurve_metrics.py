"""Light-curve decoder diagnostics (spec §P5 C12) and the mean ± sigma band figure."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.data.lightcurve_packing import unpack
from genexp.run_record import run_record


class LightCurveMetrics(MetricCallback):
    """``recon_ce_first`` / ``recon_ce_last`` (the model's per-point reconstruction cross-entropy
    of the first and last training epochs; the first is the first pretraining epoch of a model
    with a ``pretrain`` stage) and their relative drop ``recon_ce_drop``;
    ``sigma_corr`` (Pearson correlation of the predicted std and the true error over the observed
    points of ``split``); and the figure ``lightcurves_band`` with ``n_curves`` curves and the
    decoder's mean ± sigma at the observed phases."""

    default_name = "lightcurves"

    def __init__(self, split: str = "test", n: int | None = 500, n_curves: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.split = split
        self.n = n
        self.n_curves = int(n_curves)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs a light-curve model (``decode_at``) on a light-curve dataset."""
        if (
            not has_capability(pl_module, "decode_at")
            or getattr(datamodule_of(trainer), "kind", None) != "sequence"
        ):
            return "needs a light-curve model and dataset"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Observed (phase, mag, err) and predicted (mean, std) of the split at the posterior mean."""
        x, y = datamodule_of(trainer).get_data(self.split, self.n)
        x = x.to(pl_module.device)
        outs = []
        for i in range(0, len(x), self.batch_size):
            xb = x[i : i + self.batch_size]
            outs.append(pl_module.decode_at(pl_module.encode(xb), unpack(xb).t))
        return {
            "x": x.cpu(),
            "y": y,
            "mean": torch.cat([o[0] for o in outs]).cpu(),
            "std": torch.cat([o[1] for o in outs]).cpu(),
        }

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The numbers above; saves the figure."""
        b = unpack(collected["x"])
        obs = b.mask.bool()
        corr = float(np.corrcoef(collected["std"][obs].numpy(), b.err[obs].numpy())[0, 1])
        out: dict[str, Any] = {"sigma_corr": corr}
        hist = list(getattr(pl_module, "recon_history", []))
        if hist:
            out.update(
                recon_ce_first=hist[0],
                recon_ce_last=hist[-1],
                recon_ce_drop=(hist[0] - hist[-1]) / abs(hist[0]) if hist[0] else float("nan"),
            )
        run_record(trainer).save_figure(
            trainer,
            self.figure(collected, getattr(datamodule_of(trainer), "class_names", None)),
            "lightcurves_band",
        )
        return out

    def figure(self, collected: Any, names: list[str] | None) -> Any:
        """Observed points with error bars and the predicted mean ± sigma, one panel per curve."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        n = min(self.n_curves, len(collected["x"]))
        idx = np.linspace(0, len(collected["x"]) - 1, n).astype(int)
        fig, axes = plt.subplots(1, n, figsize=(3 * n, 2.6), squeeze=False)
        b = unpack(collected["x"])
        for ax, i in zip(axes[0], idx):
            m = b.mask[i].bool()
            t, mean, std = b.t[i][m], collected["mean"][i][m], collected["std"][i][m]
            ax.errorbar(t, b.mag[i][m], b.err[i][m], fmt=".", ms=2, lw=0.5, color="k", label="observed")
            ax.plot(t, mean, color="C0", label="mean")
            ax.fill_between(t, mean - std, mean + std, color="C0", alpha=0.3, label="± σ")
            label = int(collected["y"][i])
            ax.set_title(names[label] if names and label < len(names) else f"class {label}", fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel("phase")
        axes[0][0].legend(fontsize=6)
        fig.tight_layout()
        return fig

"""Semi-supervised mixture targets: the accuracy of assigning each code to its most responsible
component (component k = class k) and a scatter of the codes coloured by label."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch

from genexp.callbacks.clustering_metrics import labelled_split
from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.mixture_assignment import component_accuracy, pca_2d
from genexp.run_record import run_record


class MixtureAssignmentMetrics(MetricCallback):
    """``component_acc`` on ``split``: the share of codes E(x) whose max-responsibility component
    of the model's ``prior`` equals the label (GEN spec §6.4's add-on to the paper's Fig. 3),
    ``mixture_protocol``, and the figure ``samples/latent_scatter.png`` (the first ``n_plot``
    codes coloured by label, component means marked; PCA when the latent has > 2 dimensions).
    Needs ``encode`` and a prior with ``responsibilities`` and at least 2 components.
    """

    default_name = "mixture"

    def __init__(self, split: str = "test", n: int | None = None, n_plot: int = 5000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.split = split
        self.n = n
        self.n_plot = int(n_plot)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs codes, a mixture prior and labels."""
        dm = datamodule_of(trainer)
        prior = getattr(pl_module, "prior", None)
        if not has_capability(pl_module, "encode"):
            return f"{type(pl_module).__name__} has no encode(x)"
        if prior is None or getattr(prior, "num_components", 1) < 2 or not hasattr(prior, "responsibilities"):
            return "the model's prior is not a mixture (use prior=gmm_fixed)"
        if dm is None or not dm.num_classes:
            return "the dataset has no class labels"
        return None

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Codes, their responsibilities and labels of the split, gathered."""
        x, y = labelled_split(datamodule_of(trainer), [self.split], self.n)

        def fn(xb: torch.Tensor, yb: torch.Tensor) -> dict[str, torch.Tensor]:
            z = pl_module.encode(xb)
            return {"z": z.double(), "resp": pl_module.prior.responsibilities(z).double(), "y": yb.long()}

        return self.gather_rows(trainer, pl_module, x, y, fn)

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The accuracy and the protocol; saves the scatter."""
        y = collected["y"]
        means = pl_module.prior.means.detach().double().cpu()
        z2, m2, how = pca_2d(collected["z"][: self.n_plot], means)
        fig = scatter_figure(z2.numpy(), y[: self.n_plot].numpy(), m2.numpy(), how)
        run_record(trainer).save_figure(trainer, fig, "latent_scatter")
        return {
            "component_acc": component_accuracy(collected["resp"], y),
            "mixture_protocol": {
                "split": self.split,
                "n": len(y),
                "num_components": int(pl_module.prior.num_components),
                "assignment": "argmax_k p(k | E(x)) of the prior; component k = class k",
                "figure": f"latent_scatter.png ({min(self.n_plot, len(y))} codes, {how})",
            },
        }


def scatter_figure(z: np.ndarray, y: np.ndarray, means: np.ndarray, how: str) -> Any:
    """Codes coloured by label (tab10), component k's mean as a black cross labelled k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if z.shape[1] == 1:
        z, means = np.pad(z, ((0, 0), (0, 1))), np.pad(means, ((0, 0), (0, 1)))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    points = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", vmin=-0.5, vmax=9.5, s=3, rasterized=True)
    ax.scatter(means[:, 0], means[:, 1], marker="x", c="k", s=40)
    for k, (a, b) in enumerate(means[:, :2]):
        ax.annotate(str(k), (a, b), fontsize=8, xytext=(3, 3), textcoords="offset points")
    fig.colorbar(points, ax=ax, ticks=range(10), label="label")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("test codes" + (" (first two principal axes)" if how == "pca" else ""))
    return fig

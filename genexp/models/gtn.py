"""Generative Topological Networks (Levy-Jurgenson & Yakhini 2024): pair every training point once
with an N(0, I) draw (:mod:`genexp.models.components.gtn_pairing`), then fit ĥ(y) ≈ x by plain MSE regression;
generate with ĥ(y), y ~ N(0, I) (spec gtn.md)."""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, PositiveInt
from genexp.errors import ConfigError
from genexp.models.base import GenerativeModule
from genexp.models.components.gtn_pairing import pair, pairing_stats
from genexp.models.components.staging import Stage, StagedModel

SPLITS = ("train", "val", "test")


class GTN(StagedModel, GenerativeModule):
    """ĥ: N(0, I_d) -> data (d = the data's size), trained on (y, x_y) pairs.

    Stage ``pairs`` (:mod:`genexp.models.components.staging`) pairs every split with its own
    Gaussian sample (seeded by ``pair_seed`` and the split) and keeps them in
    ``<run>/stages/pairs.pt``, where a resumed run or an evaluation finds them;
    ``model.stages.pairs=<such a file>`` reuses another run's pairs (same pairing settings).
    The datamodule's batches only set the batch size and the epoch length; the rows come from
    the module's own shuffled pairs. ``standardize`` z-scores the targets with the training
    mean/std before pairing and regression (the paper's toys; the spec's ``center`` for latents)
    and undoes it when sampling.
    """

    STAGES: tuple[str, ...] = ("pairs",)

    def __init__(
        self,
        data_shape: Sequence[int],
        net: Callable[..., nn.Module],
        optimizer: Callable[..., Any],
        tie_tol: NonNegativeFloat = 0.0,
        pair_block: PositiveInt = 256,
        pair_seed: int = 8745,
        standardize: bool = False,
        stages: Optional[dict[str, Optional[str]]] = None,
        value_range: Optional[Sequence[float]] = None,
        dim: Optional[int] = None,
    ) -> None:
        super().__init__(data_shape, value_range)
        if tie_tol < 0:
            raise ConfigError(f"model.tie_tol must be >= 0, got {tie_tol}")
        self.dim = int(dim) if dim is not None else self.data_dim
        self.net = net(in_dim=self.dim, out_dim=self.dim)
        self.optimizer_factory = optimizer
        self.tie_tol = float(tie_tol)
        self.pair_block = int(pair_block)
        self.pair_seed = int(pair_seed)
        self.standardize = bool(standardize)
        self.init_stages(self.STAGES, stages)
        self.register_buffer("x_mean", torch.zeros(self.dim))
        self.register_buffer("x_std", torch.ones(self.dim))
        self.pairs: dict[str, tuple[Tensor, Tensor]] = {}
        self._order: dict[str, Tensor] = {}
        self._offset: dict[str, int] = {}
        self._device_pairs: dict[str, tuple[Tensor, Tensor, Tensor]] = {}  # split -> (source y, y, x)

    # -- stage ``pairs`` --------------------------------------------------------------------------
    def make_pairs(self, x: Tensor, split: str) -> tuple[Tensor, Tensor, dict[str, float]]:
        """(y, x_y, stats) for one split: a seeded N(0, I) draw per row, paired by Algorithm 1."""
        x = x.reshape(len(x), -1).float()
        gen = torch.Generator().manual_seed(self.pair_seed + SPLITS.index(split))
        y = torch.randn(x.shape, generator=gen)
        started = time.time()
        z = (x - self.x_mean.cpu()) / self.x_std.cpu()  # the identity unless ``standardize``
        match = pair(y, z, self.tie_tol, self.pair_block)
        stats = pairing_stats(y, z[match])
        stats["seconds"] = time.time() - started
        return y, x[match], stats

    def split_targets(self, split: str) -> Tensor:
        """The regression targets of ``split`` (here the data; latent GTN: their codes)."""
        return self.trainer.datamodule.get_data(split)[0]

    def pair_meta(self) -> dict[str, Any]:
        """What saved pairs must match to be reused."""
        return {"tie_tol": self.tie_tol, "pair_seed": self.pair_seed, "standardize": self.standardize}

    def pair_splits(self) -> dict[str, Any]:
        """Stage ``pairs``: the target standardisation (train moments), then every split's pairs."""
        if self.standardize:
            x = self.split_targets("train").reshape(-1, self.dim).float()
            self.x_mean.copy_(x.mean(0))
            self.x_std.copy_(x.std(0).clamp_min(1e-8))
        info: dict[str, Any] = {}
        for split in SPLITS:
            targets = self.split_targets(split)
            if len(targets) == 0:
                continue
            y, xy, stats = self.make_pairs(targets, split)
            self.pairs[split] = (y, xy)
            info.update({f"{split}_{k}": v for k, v in stats.items()})
        return info

    def pair_tensors(self) -> dict[str, Any]:
        """The stage's artefact: every split's pairs and the standardisation."""
        return {"pairs": dict(self.pairs), "x_mean": self.x_mean.cpu(), "x_std": self.x_std.cpu()}

    def restore_pairs(self, tensors: dict[str, Any]) -> None:
        """Put saved pairs (and their standardisation) back."""
        self.pairs = dict(tensors["pairs"])
        self.x_mean.copy_(tensors["x_mean"])
        self.x_std.copy_(tensors["x_std"])

    def model_stages(self) -> list[Stage]:
        """The stages before the regression (latent GTN adds its autoencoder first)."""
        return [
            Stage(
                "pairs",
                self.pair_splits,
                tensors=self.pair_tensors,
                restore=self.restore_pairs,
                meta=self.pair_meta,
            )
        ]

    def ensure_stages(self) -> None:
        """Run, load or restore the stages once per process (fit, or an evaluation's test)."""
        if "train" not in self.pairs:
            self.run_stages(self.model_stages())

    def on_fit_start(self) -> None:
        """The stages: pairs (latent GTN: autoencoder, then pairs of its codes)."""
        self.ensure_stages()

    def on_test_start(self) -> None:
        """The pairs of the test split (from the run folder when the run was fitted here)."""
        self.ensure_stages()

    # -- the regression ---------------------------------------------------------------------------
    def regress(self, y: Tensor) -> Tensor:
        """ĥ(y) in target units, shape (n, dim)."""
        return self.net(y) * self.x_std + self.x_mean

    def forward(self, y: Tensor) -> Tensor:
        """ĥ(y) in data space, shape (n, *data_shape)."""
        return self.regress(y).view(len(y), *self.data_shape)

    def _pairs_on_device(self, split: str) -> tuple[Tensor, Tensor]:
        """``split``'s pairs on the module's device, copied there once (again only when the pairs
        or the device change), so a step makes no host-to-device copy."""
        y, x = self.pairs[split]
        cached = self._device_pairs.get(split)
        if cached is None or cached[0] is not y or cached[1].device != self.device:
            cached = self._device_pairs[split] = (y, y.to(self.device), x.to(self.device))
        return cached[1], cached[2]

    def _next_rows(self, split: str, n: int, shuffle: bool) -> tuple[Tensor, Tensor]:
        """The next ``n`` pairs of ``split`` (a new permutation when the previous one is used up;
        drawn on the CPU, so a run's order is the same on every device)."""
        y, x = self._pairs_on_device(split)
        if split not in self._order or self._offset[split] >= len(y):
            order = torch.randperm(len(y)) if shuffle else torch.arange(len(y))
            self._order[split] = order.to(y.device)
            self._offset[split] = 0
        idx = self._order[split][self._offset[split] : self._offset[split] + n]
        self._offset[split] += n
        return y[idx], x[idx]

    def mse(self, split: str, n: int, shuffle: bool = False) -> Tensor:
        """MSE of ĥ on the next ``n`` (standardised) pairs of ``split``."""
        y, x = self._next_rows(split, n, shuffle)
        return F.mse_loss(self.net(y), (x - self.x_mean) / self.x_std)

    def on_train_epoch_start(self) -> None:
        """A fresh permutation of the training pairs every epoch."""
        self._offset["train"] = len(self.pairs["train"][0])

    def on_validation_epoch_start(self) -> None:
        """Validation always walks the val pairs from the start."""
        self._offset["val"] = len(self.pairs.get("val", (torch.empty(0),))[0])

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """One MSE step on as many training pairs as the datamodule's batch holds."""
        loss = self.mse("train", len(batch[0]), shuffle=True)
        self.log_train_step({"train/loss": loss})
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """MSE on the separately paired validation set (``val/loss``, the early-stopping monitor)."""
        self.log("val/loss", self.mse("val", len(batch[0])), on_epoch=True, prog_bar=True, sync_dist=True)

    def on_test_epoch_start(self) -> None:
        """Walk the test pairs from the start."""
        self._offset["test"] = len(self.pairs["test"][0])

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """MSE on the test pairs (``test/loss``)."""
        self.log("test/loss", self.mse("test", len(batch[0])), on_epoch=True, sync_dist=True)

    def sample(self, n: int) -> Tensor:
        """ĥ(y) for ``n`` draws y ~ N(0, I_d)."""
        return self(torch.randn(n, self.dim, device=self.x_mean.device))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam (or the configured optimizer) over the regressor."""
        return self.optimizer_factory(params=self.net.parameters())

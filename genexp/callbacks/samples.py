"""Saves sample figures (and reconstructions for autoencoders) every N epochs and at the end."""

from __future__ import annotations

from typing import Optional

import lightning as L
import torch

from genexp.callbacks.figures import image_grid_figure, points_figure, reconstruction_pairs
from genexp.constraints import NonNegativeInt
from genexp.run_record import run_record


class SampleFigures(L.Callback):
    """Writes ``samples/samples_<step>.png`` (image grid or 2-D scatter over the data), and for
    models with ``reconstruct`` ``samples/reconstructions_<step>.png``, on rank 0.

    ``every_n_epochs=0`` draws only at the end of training.
    """

    def __init__(
        self,
        n_images: NonNegativeInt = 64,
        n_points: NonNegativeInt = 2000,
        every_n_epochs: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        self.n_images = n_images
        self.n_points = n_points
        self.every_n_epochs = every_n_epochs

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Draw every ``every_n_epochs`` epochs (not at the last one: the end hook does)."""
        e = trainer.current_epoch + 1
        if self.every_n_epochs and e % self.every_n_epochs == 0 and e < (trainer.max_epochs or 0):
            self.draw(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Draw the final figures."""
        self.draw(trainer, pl_module)

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, tag: Optional[str] = None) -> None:
        """Render and save the figures for the model's current state."""
        if trainer.global_rank != 0 or not hasattr(pl_module, "sample"):
            return
        dm = trainer.datamodule
        tag = tag or f"step{trainer.global_step:07d}"
        images = len(pl_module.data_shape) == 3
        n = self.n_images if images else self.n_points
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            samples = pl_module.sample_batched(n)
        if images:
            fig = image_grid_figure(samples, pl_module.value_range, f"samples at step {trainer.global_step}")
        else:
            data = dm.get_data("test", self.n_points)[0] if dm is not None else None
            fig = points_figure(samples, data, f"samples at step {trainer.global_step}")
        run_record(trainer).save_figure(trainer, fig, f"samples_{tag}")
        if images and hasattr(pl_module, "reconstruct") and dm is not None:
            x = dm.get_data("test", 32)[0].to(pl_module.device)
            was_training = pl_module.training
            pl_module.eval()
            with torch.no_grad():
                x_hat = pl_module.reconstruct(x)
            pl_module.train(was_training)
            pairs = reconstruction_pairs(x.cpu(), x_hat.cpu())
            fig = image_grid_figure(pairs, pl_module.value_range, "test images (odd rows: reconstructions)")
            run_record(trainer).save_figure(trainer, fig, f"reconstructions_{tag}")

"""Latent GTN (the GTN paper's image pipeline) as one staged run: (1) train, or load, a deterministic
autoencoder; (2) encode every split and pair the codes (cached); (3) fit the GTN on the codes;
generation decodes ĥ(y). Each stage leaves a file a later run can start from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import lightning as L
import torch
from torch import Tensor, nn

from genexp.callbacks.results import record_metrics, run_dir
from genexp.models.gtn import GTN


class LatentGTN(GTN):
    """A :class:`GTN` on the codes of ``autoencoder`` (any module with ``encode``/``decode`` and
    ``latent_dim``, e.g. ``DeterministicAutoencoder``).

    Stage 1 loads ``autoencoder_ckpt`` (a state dict) when given, else trains the autoencoder for
    ``ae_epochs`` on the run's datamodule and saves ``autoencoder.pt`` in the run folder. Stage 2
    caches ``gtn_pairs_<split>.pt`` (reuse with ``pairs_dir``). Stage 3 is the GTN fit itself
    (resume with the usual checkpoints). The autoencoder is frozen after stage 1.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        autoencoder: nn.Module,
        net: Callable[..., nn.Module],
        optimizer: Callable[..., Any],
        ae_epochs: int = 10,
        autoencoder_ckpt: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, net, optimizer, dim=int(autoencoder.latent_dim), **kwargs)
        self.autoencoder = autoencoder
        self.ae_epochs = int(ae_epochs)
        self.autoencoder_ckpt = autoencoder_ckpt
        self._ae_ready = False

    def _train_or_load_autoencoder(self) -> None:
        """Stage 1."""
        if self._ae_ready:
            return
        if self.autoencoder_ckpt:
            self.autoencoder.load_state_dict(torch.load(self.autoencoder_ckpt, map_location="cpu"))
        else:
            inner = L.Trainer(
                max_epochs=self.ae_epochs,
                accelerator="cpu",
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
                limit_val_batches=0,
            )
            inner.fit(self.autoencoder, datamodule=self.trainer.datamodule)
            path = Path(run_dir(self.trainer)) / "autoencoder.pt"
            torch.save(self.autoencoder.state_dict(), path)
            self.autoencoder_ckpt = str(path)
            record_metrics(self.trainer, {"latent_gtn/autoencoder_ckpt": str(path)})
        self.autoencoder.requires_grad_(False)
        self.autoencoder.eval()
        self._ae_ready = True

    @torch.no_grad()
    def split_targets(self, split: str) -> Tensor:
        """The autoencoder's codes of the split's images (eval mode, in chunks)."""
        self._train_or_load_autoencoder()
        x, _ = self.trainer.datamodule.get_data(split)
        self.autoencoder.eval()
        return torch.cat([self.autoencoder.encode(xb.to(self.device)).cpu() for xb in x.split(1000)])

    def pair_meta(self) -> dict[str, Any]:
        """Cached pairs must come from the same autoencoder file."""
        return {**super().pair_meta(), "autoencoder": str(self.autoencoder_ckpt)}

    def on_fit_start(self) -> None:
        """Stage 1, then stage 2 (the GTN's pairing of the codes)."""
        self._train_or_load_autoencoder()
        super().on_fit_start()

    def on_train_epoch_start(self) -> None:
        """Keep the frozen autoencoder in eval mode while the GTN trains."""
        super().on_train_epoch_start()
        self.autoencoder.eval()

    def encode(self, x: Tensor) -> Tensor:
        """The autoencoder's code of ``x``."""
        return self.autoencoder.encode(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        """The autoencoder's reconstruction (the ceiling of GTN sample quality)."""
        return self.autoencoder.decode(self.autoencoder.encode(x))

    def sample_latent(self, n: int) -> Tensor:
        """ĥ(y), y ~ N(0, I_latent): generated codes."""
        return self.regress(torch.randn(n, self.dim, device=self.x_mean.device))

    def sample(self, n: int) -> Tensor:
        """Decode ĥ(y), y ~ N(0, I_latent)."""
        return self.autoencoder.decode(self.sample_latent(n))

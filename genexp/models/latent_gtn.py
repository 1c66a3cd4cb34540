"""Latent GTN (the GTN paper's image pipeline) as one staged run: (1) stage ``autoencoder``: train,
or load, a deterministic autoencoder; (2) stage ``pairs``: encode every split and pair the codes;
(3) fit the GTN on the codes; generation decodes ĥ(y). Each stage leaves an artefact in
``<run>/stages/`` that a later run can start from (``model.stages.<name>=<file>``)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from genexp.models.components.staging import Stage, fingerprint, fit_loss, train_tensor
from genexp.models.gtn import GTN


class LatentGTN(GTN):
    """A :class:`GTN` on the codes of ``autoencoder`` (any module with ``encode``/``decode``,
    ``losses(x)["loss"]``, ``configure_optimizers`` and ``latent_dim``, e.g.
    ``DeterministicAutoencoder``).

    Stage ``autoencoder`` trains it for ``ae_epochs`` on the run's training split (the
    datamodule's batch size, the run's device and precision) and freezes it; stage ``pairs``
    pairs its codes; then the GTN fit itself (resume with the usual checkpoints).
    """

    STAGES = ("autoencoder", "pairs")

    def __init__(
        self,
        data_shape: Sequence[int],
        autoencoder: nn.Module,
        net: Callable[..., nn.Module],
        optimizer: Callable[..., Any],
        ae_epochs: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, net, optimizer, dim=int(autoencoder.latent_dim), **kwargs)
        self.autoencoder = autoencoder
        self.ae_epochs = int(ae_epochs)

    def train_autoencoder(self) -> dict[str, Any]:
        """Stage ``autoencoder``: ``ae_epochs`` epochs on the autoencoder's own loss and optimizer."""
        ae = self.autoencoder
        x = train_tensor(self.trainer)
        batch_size = int(getattr(self.trainer.datamodule, "batch_size", 128))
        optimizer = ae.configure_optimizers()
        return fit_loss(
            lambda xb: ae.losses(xb)["loss"], optimizer, x, batch_size, self.ae_epochs, self.device
        )

    def model_stages(self) -> list[Stage]:
        """The autoencoder, then the GTN's pairing of its codes."""
        return [
            Stage("autoencoder", self.train_autoencoder, {"autoencoder": self.autoencoder}),
            *super().model_stages(),
        ]

    @torch.no_grad()
    def split_targets(self, split: str) -> Tensor:
        """The autoencoder's codes of the split's images (eval mode, in chunks)."""
        x, _ = self.trainer.datamodule.get_data(split)
        self.autoencoder.eval()
        return torch.cat([self.autoencoder.encode(xb.to(self.device)).cpu() for xb in x.split(1000)])

    def pair_meta(self) -> dict[str, Any]:
        """Saved pairs must come from the same autoencoder (the fingerprint of its weights)."""
        return {**super().pair_meta(), "autoencoder": fingerprint(self.autoencoder)}

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

"""MMD-VAE / InfoVAE (spec §A.4, the thesis' "MMD" baseline): reconstruction + beta * MMD^2 between
the batch of posterior samples and as many prior samples."""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from genexp.constraints import PositiveFloat
from genexp.errors import ConfigError
from genexp.losses.divergences import KERNELS, MMDKernel, mmd2_unbiased
from genexp.models.autoencoder import AutoencoderModule


class MMDVAE(AutoencoderModule):
    """R = unbiased MMD^2 between z~ ~ q(z|x) (reparameterised, one per data point) and the same
    number of draws from the prior (any prior with ``sample``), with an ``rbf`` kernel
    exp(-||a-b||^2 / scale) (InfoVAE; default scale J) or ``imq`` scale / (scale + ||a-b||^2) (WAE;
    default scale 2J). No per-sample KL: the posterior variance is free to shrink."""

    def __init__(
        self,
        *args: Any,
        kernel: MMDKernel = "rbf",
        kernel_scale: Optional[PositiveFloat] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if kernel not in KERNELS:
            raise ConfigError(f"model.kernel={kernel!r} is unknown; choose one of {list(KERNELS)}")
        if kernel_scale is not None and float(kernel_scale) <= 0:
            raise ConfigError(f"model.kernel_scale must be > 0 (or null for the default), got {kernel_scale}")
        self.kernel = kernel
        self.kernel_scale = None if kernel_scale is None else float(kernel_scale)

    def regularizer(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        """MMD^2 for the batch (a scalar); a one-row batch gives an error in training, 0 in evaluation."""
        if z.shape[0] < 2:
            if self.training:
                raise ConfigError(
                    "MMDVAE compares batches of codes with prior draws: dataset.batch_size must be >= 2"
                )
            return z.new_zeros(())
        prior_draws = self.prior.sample(z.shape[0]).to(z.dtype)
        return mmd2_unbiased(z, prior_draws, self.kernel, self.kernel_scale)

"""An EigenGAN-style stochastic MLP generator: noise injected at every layer through learned
subspaces (SC-GAN spec §3; EigenGAN's ``SubspaceLayer`` as in the authors' InfoSCC-GAN code)."""

from __future__ import annotations

from typing import Literal, Optional, Sequence, get_args

import torch
from torch import Tensor, nn

from genexp.constraints import PositiveInt
from genexp.errors import ConfigError
from genexp.nets.mlp import _numel

BasisScaleInit = Literal["eigengan", "ones"]
BASIS_SCALE_INITS = get_args(BasisScaleInit)


class SubspaceLayer(nn.Module):
    """phi = (L * z) @ U + mu with an orthogonally initialised basis U (n_basis x dim), learnable
    scales L and offset mu (0 at init). ``scale_init``: ``eigengan`` = [3n, ..., 6, 3], ``ones``."""

    def __init__(self, dim: int, n_basis: int, scale_init: BasisScaleInit = "ones") -> None:
        super().__init__()
        if scale_init not in BASIS_SCALE_INITS:
            raise ConfigError(f"scale_init must be one of {list(BASIS_SCALE_INITS)}, got {scale_init!r}")
        self.U = nn.Parameter(nn.init.orthogonal_(torch.empty(n_basis, dim)))
        scales = (
            3.0 * torch.arange(n_basis, 0, -1).float() if scale_init == "eigengan" else torch.ones(n_basis)
        )
        self.L = nn.Parameter(scales)
        self.mu = nn.Parameter(torch.zeros(dim))

    def forward(self, z: Tensor) -> Tensor:
        """(n, n_basis) -> (n, dim)."""
        return (self.L * z) @ self.U + self.mu

    def orthogonality_penalty(self) -> Tensor:
        """mean((U U^T - I)^2): zero exactly when the basis rows are orthonormal."""
        gram = self.U @ self.U.t()
        return (gram - torch.eye(len(gram), device=gram.device, dtype=gram.dtype)).pow(2).mean()


class EigenMLP(nn.Module):
    """h_0 = act(W_0 eps); h_l = act(W_l (h_{l-1} + A_l phi_l(z_l))) for l = 1..L; x = W_out h_L.

    ``forward(eps, z)`` takes per-layer noise ``z`` of shape ``(n, num_layers, n_basis)``;
    ``z=None`` draws it from N(0, I) (generative mode), :meth:`zero_noise` gives the fixed noise of
    reconstruction mode. Factory signature ``(in_dim, out_shape, value_range)`` as
    :func:`genexp.nets.factory.vector_to_data` (no output activation: 2-D data are unbounded).
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int],
        value_range: Optional[Sequence[float]] = None,
        hidden: PositiveInt = 256,
        num_layers: PositiveInt = 3,
        n_basis: PositiveInt = 6,
        scale_init: BasisScaleInit = "ones",
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.out_shape = tuple(int(s) for s in out_shape)
        self.num_layers, self.n_basis = int(num_layers), int(n_basis)
        self.act = nn.LeakyReLU(negative_slope)
        self.inp = nn.Linear(int(in_dim), hidden)
        self.subspaces = nn.ModuleList(SubspaceLayer(hidden, n_basis, scale_init) for _ in range(num_layers))
        self.inject = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers))
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers))
        self.out = nn.Linear(hidden, _numel(self.out_shape))

    def noise(self, n: int, device: Optional[torch.device] = None) -> Tensor:
        """Random per-layer noise (n, num_layers, n_basis)."""
        return torch.randn(n, self.num_layers, self.n_basis, device=device)

    def zero_noise(self, n: int, device: Optional[torch.device] = None) -> Tensor:
        """The fixed noise of reconstruction mode: zeros, so phi_l = mu_l."""
        return torch.zeros(n, self.num_layers, self.n_basis, device=device)

    def forward(self, eps: Tensor, z: Optional[Tensor] = None) -> Tensor:
        """(n, in_dim) [, (n, num_layers, n_basis)] -> (n, *out_shape)."""
        if z is None:
            z = self.noise(eps.shape[0], eps.device)
        h = self.act(self.inp(eps))
        for i, (sub, inj, lin) in enumerate(zip(self.subspaces, self.inject, self.layers)):
            h = self.act(lin(h + inj(sub(z[:, i]))))
        return self.out(h).view(eps.shape[0], *self.out_shape)

    def orthogonality_penalty(self) -> Tensor:
        """Mean over layers of each subspace's orthogonality penalty."""
        return torch.stack([s.orthogonality_penalty() for s in self.subspaces]).mean()

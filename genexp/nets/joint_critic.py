"""The joint discriminator D(x, z) of ALI, ALICE and Veegan (thesis §6.3.1, spec §C2).

D(x, z) = D_xz([D_x(x), D_z(z)]): D_x is any data -> vector net (the GAN models' discriminator, here
with ``x_features`` outputs instead of one logit); D_z is one residual block of two linear layers
of ``hidden`` units with a skip connection (the thesis' "8C hidden units"); D_xz is one such block
on the concatenated features, then a linear layer to the logit.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.constraints import PositiveFloat, PositiveInt
from genexp.nets.layers import activation, maybe_spectral
from genexp.nets.resnet import sn_layer


def _linear(a: int, b: int, spectral_norm: bool, init_std: Optional[float]) -> nn.Module:
    """A Linear layer, spectrally normalised when asked, N(0, ``init_std``) weights when given."""
    layer = nn.Linear(int(a), int(b))
    if init_std is not None:
        return sn_layer(layer, init_std, spectral_norm)
    return maybe_spectral(layer, spectral_norm)


class ResidualMLPBlock(nn.Module):
    """out = skip(h) + W2 act(W1 h): two linear layers of ``width`` units and a skip connection
    (the identity when ``in_dim == width``, a linear map otherwise)."""

    def __init__(
        self,
        in_dim: int,
        width: int,
        activation_name: str = "leaky_relu",
        spectral_norm: bool = True,
        init_std: Optional[float] = None,
    ) -> None:
        super().__init__()
        self.fc1 = _linear(in_dim, width, spectral_norm, init_std)
        self.act = activation(activation_name)
        self.fc2 = _linear(width, width, spectral_norm, init_std)
        self.skip = nn.Identity() if in_dim == width else _linear(in_dim, width, spectral_norm, init_std)

    def forward(self, h: Tensor) -> Tensor:
        """(n, in_dim) -> (n, width)."""
        return self.skip(h) + self.fc2(self.act(self.fc1(h)))


class JointCritic(nn.Module):
    """D(x, z) -> (n, out_dim) logits: D_xz(act([D_x(x), D_z(z)])).

    ``x_net(in_shape=, out_dim=x_features)`` builds D_x (e.g. :func:`genexp.nets.factory.data_to_vector`
    or :func:`genexp.nets.shared_trunk.resnet_critic`); its output is D_x's "last features".
    ``hidden`` is D_z's and D_xz's width (8C in the thesis), ``x_features`` defaults to half of it
    (4C, the width of the thesis' D_x features). ``init_std`` (None: PyTorch's default
    initialisation) initialises D_z's and D_xz's weights from N(0, init_std).
    """

    def __init__(
        self,
        x_net: Callable[..., nn.Module],
        in_shape: Sequence[int],
        latent_dim: PositiveInt,
        out_dim: PositiveInt = 1,
        hidden: PositiveInt = 256,
        x_features: Optional[PositiveInt] = None,
        activation_name: str = "leaky_relu",
        spectral_norm: bool = True,
        init_std: Optional[PositiveFloat] = None,
    ) -> None:
        super().__init__()
        feat = int(x_features) if x_features else max(1, int(hidden) // 2)
        self.x_net = x_net(in_shape=in_shape, out_dim=feat)
        self.z_net = ResidualMLPBlock(int(latent_dim), int(hidden), activation_name, spectral_norm, init_std)
        self.act = activation(activation_name)
        self.xz_net = ResidualMLPBlock(
            feat + int(hidden), int(hidden), activation_name, spectral_norm, init_std
        )
        self.head = _linear(int(hidden), int(out_dim), spectral_norm, init_std)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        """Logits for the pairs (x_i, z_i): (n, *in_shape), (n, latent_dim) -> (n, out_dim)."""
        f = torch.cat([self.x_net(x).flatten(1), self.z_net(z)], dim=1)
        return self.head(self.act(self.xz_net(self.act(f))))

"""Discriminators and encoders whose first layers (the *trunk*) can be shared (MPCC's "S": the encoder
reuses the discriminator's first three residual blocks; thesis §8.1.4, Tables 8.2-8.3).

A critic is ``body(trunk(x))``; an encoder is ``heads(body(trunk(x)))`` with two heads (Linear, ReLU,
Linear) for the posterior mean and log-variance, returned concatenated as (n, 2J) like every genexp
encoder. Builders take ``shared_trunk``: the critic's trunk module to reuse instead of building an
own copy of the same architecture (the "NS" variant).
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.layers import activation, maybe_spectral
from genexp.nets.resnet import BLOCK_KINDS, DownBlock, sn_layer


def _feature_shape(trunk: nn.Module, in_shape: Sequence[int]) -> tuple[int, ...]:
    """Output shape of ``trunk`` for one input, without touching its state (eval mode, no grad)."""
    was_training = trunk.training
    trunk.eval()
    with torch.no_grad():
        out = trunk(torch.zeros(2, *[int(s) for s in in_shape]))
    trunk.train(was_training)
    return tuple(out.shape[1:])


def _dense(widths: Sequence[int], act: str, spectral_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [maybe_spectral(nn.Linear(int(a), int(b)), spectral_norm), activation(act)]
    return layers


class TrunkCritic(nn.Module):
    """D(x) = body(trunk(x)), logits of shape (n, out_dim)."""

    def __init__(self, trunk: nn.Module, body: nn.Module) -> None:
        super().__init__()
        self.trunk, self.body = trunk, body

    def forward(self, x: Tensor) -> Tensor:
        """(n, *in_shape) -> (n, out_dim)."""
        return self.body(self.trunk(x))


class TrunkEncoder(nn.Module):
    """q(z|x): trunk -> body -> flatten -> mean and log-variance heads (each Linear(F, ``head_hidden``),
    ReLU, Linear(``head_hidden``, J)); output (n, 2J) = [mean, log-variance]."""

    def __init__(
        self,
        trunk: nn.Module,
        body: nn.Module,
        in_shape: Sequence[int],
        out_dim: int,
        head_hidden: int,
        make_linear: Callable[[int, int], nn.Module],
    ) -> None:
        super().__init__()
        if out_dim % 2:
            raise ConfigError(f"an encoder's out_dim is 2J (mean and log-variance), got {out_dim}")
        self.trunk, self.body = trunk, body
        feat = math.prod(_feature_shape(nn.Sequential(trunk, body), in_shape))
        self.heads = nn.ModuleList(
            nn.Sequential(make_linear(feat, head_hidden), nn.ReLU(), make_linear(head_hidden, out_dim // 2))
            for _ in range(2)
        )

    def forward(self, x: Tensor) -> Tensor:
        """(n, *in_shape) -> (n, 2J)."""
        h = torch.flatten(self.body(self.trunk(x)), 1)
        return torch.cat([head(h) for head in self.heads], dim=1)


# -- MLP (CPU scale) ---------------------------------------------------------------------------------
def mlp_trunk(
    in_shape: Sequence[int], trunk: Sequence[int], activation_name: str, spectral_norm: bool
) -> nn.Module:
    """Flatten, then Linear -> activation for each width in ``trunk``."""
    return nn.Sequential(
        nn.Flatten(), *_dense([math.prod(int(s) for s in in_shape), *trunk], activation_name, spectral_norm)
    )


def mlp_critic(
    in_shape: Sequence[int],
    out_dim: int = 1,
    trunk: Sequence[int] = (512, 256),
    hidden: Sequence[int] = (),
    activation_name: str = "leaky_relu",
    spectral_norm: bool = True,
) -> TrunkCritic:
    """MLP discriminator: trunk widths, then ``hidden`` widths, then Linear to ``out_dim``."""
    t = mlp_trunk(in_shape, trunk, activation_name, spectral_norm)
    widths = [int(trunk[-1]) if trunk else math.prod(int(s) for s in in_shape), *hidden]
    body = nn.Sequential(
        *_dense(widths, activation_name, spectral_norm),
        maybe_spectral(nn.Linear(widths[-1], int(out_dim)), spectral_norm),
    )
    return TrunkCritic(t, body)


def mlp_encoder(
    in_shape: Sequence[int],
    out_dim: int,
    trunk: Sequence[int] = (512, 256),
    hidden: Sequence[int] = (256,),
    head_hidden: int = 128,
    activation_name: str = "leaky_relu",
    spectral_norm: bool = True,
    shared_trunk: Optional[nn.Module] = None,
) -> TrunkEncoder:
    """MLP encoder: the (shared or own) trunk, ``hidden`` widths, two heads."""
    t = (
        shared_trunk
        if shared_trunk is not None
        else mlp_trunk(in_shape, trunk, activation_name, spectral_norm)
    )
    first = _feature_shape(t, in_shape)[0]
    body = nn.Sequential(*_dense([first, *hidden], activation_name, spectral_norm))
    return TrunkEncoder(
        t,
        body,
        in_shape,
        out_dim,
        int(head_hidden),
        lambda a, b: maybe_spectral(nn.Linear(a, b), spectral_norm),
    )


# -- ResNet (thesis scale) -----------------------------------------------------------------------------
def _down_blocks(
    in_ch: int, width: int, kinds: Sequence[str], first: bool, side: int, init_std: float, sn: bool
) -> tuple[list[nn.Module], int]:
    """Residual D/E blocks and the map side after them; a "down" block on a map narrower than 2 px
    keeps the size (so small inputs, e.g. 8 px digits, still build)."""
    unknown = [k for k in kinds if k not in BLOCK_KINDS]
    if unknown:
        raise ConfigError(f"residual blocks must be among {list(BLOCK_KINDS)}, got {list(kinds)}")
    blocks, c = [], int(in_ch)
    for i, kind in enumerate(kinds):
        down = kind == "down" and side >= 2
        side = side // 2 if down else side
        blocks.append(
            DownBlock(c, int(width), down=down, first=first and i == 0, init_std=init_std, spectral_norm=sn)
        )
        c = int(width)
    return blocks, side


class SumPoolHead(nn.Module):
    """BigGAN's D output: ReLU, global sum pooling, SN-linear."""

    def __init__(self, width: int, out_dim: int, init_std: float, spectral_norm: bool) -> None:
        super().__init__()
        self.linear = sn_layer(nn.Linear(int(width), int(out_dim)), init_std, spectral_norm)

    def forward(self, h: Tensor) -> Tensor:
        """(n, C, H, W) -> (n, out_dim)."""
        return self.linear(torch.relu(h).sum(dim=(2, 3)))


def resnet_critic(
    in_shape: Sequence[int],
    out_dim: int = 1,
    width: int = 48,
    trunk_blocks: Sequence[str] = ("down", "down", "same"),
    blocks: Sequence[str] = ("same",),
    init_std: float = 0.02,
    spectral_norm: bool = True,
) -> TrunkCritic:
    """Thesis Table 8.2: Resblock down D->4C, down, Resblock, Resblock; ReLU, global sum pool,
    linear -> 1. ``width`` = 4C; the trunk is the first three blocks."""
    first, side = _down_blocks(
        int(in_shape[0]), width, trunk_blocks, True, min(in_shape[1:]), init_std, spectral_norm
    )
    rest, _ = _down_blocks(width, width, blocks, False, side, init_std, spectral_norm)
    trunk, body = (
        nn.Sequential(*first),
        nn.Sequential(*rest, SumPoolHead(width, out_dim, init_std, spectral_norm)),
    )
    return TrunkCritic(trunk, body)


def resnet_encoder(
    in_shape: Sequence[int],
    out_dim: int,
    width: int = 48,
    trunk_blocks: Sequence[str] = ("down", "down", "same"),
    blocks: Sequence[str] = ("same", "down", "down"),
    head_hidden: Optional[int] = None,
    init_std: float = 0.02,
    spectral_norm: bool = True,
    shared_trunk: Optional[nn.Module] = None,
) -> TrunkEncoder:
    """Thesis Table 8.3 as in the official code: the critic's three trunk blocks, a Resblock and two
    Resblock down (32 -> 16 -> 8 -> 8 -> 8 -> 4 -> 2), flatten, heads Linear(16C -> 8C), ReLU,
    Linear(8C -> J). ``head_hidden`` defaults to 8C = 2 * ``width``."""
    t = shared_trunk
    if t is None:
        t = nn.Sequential(
            *_down_blocks(
                int(in_shape[0]), width, trunk_blocks, True, min(in_shape[1:]), init_std, spectral_norm
            )[0]
        )
    rest, _ = _down_blocks(
        width, width, blocks, False, min(_feature_shape(t, in_shape)[1:]), init_std, spectral_norm
    )
    body = nn.Sequential(*rest)
    return TrunkEncoder(
        t,
        body,
        in_shape,
        out_dim,
        int(head_hidden or 2 * width),
        lambda a, b: sn_layer(nn.Linear(a, b), init_std, spectral_norm),
    )

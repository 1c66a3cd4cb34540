"""The constrained (bi-Lipschitz, invertible) partitioner backbone of PGMGAN (spec §2.3, §3.1).

phi = head o stages; every stage is [squeeze] -> blocks x + psi(x) with ActNorm before each block;
psi = conv3x3 -> ELU -> conv1x1 -> ELU -> conv3x3 (ELU on the input except in the very first block),
every conv softly spectrally normalised to an operator norm <= ``coeff`` (0.9): W / max(1, s/coeff)
with s the norm of the *convolution* at the real input shape, estimated by power iteration on
conv / conv-transpose. So Lip(psi) <= coeff^3 < 1 and each block is invertible and bi-Lipschitz.
Downsampling is the invertible squeeze (space-to-depth 2x2, ``pixel_unshuffle``); there is no zero
padding of the input, strided conv or max-pooling. Head: BatchNorm -> LeakyReLU(0.2) -> global
average pool -> Linear (BatchNorm is affine in eval mode, where the partitioner is used).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError


class SoftSpectralConv2d(nn.Module):
    """A stride-1 conv whose weight is scaled to operator norm <= ``coeff`` at its input shape.

    The power-iteration vector ``u`` has the shape of one input map and is created at the first
    forward pass (``init_iterations`` steps), then refined by ``iterations`` steps per training
    forward; eval mode reuses it. Gradients flow through the norm estimate (as in torch's SN).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        coeff: float = 0.9,
        iterations: int = 1,
        init_iterations: int = 5,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)
        self.coeff, self.iterations, self.init_iterations = (
            float(coeff),
            int(iterations),
            int(init_iterations),
        )
        self.register_buffer("u", torch.empty(0))

    def _power(self, u: Tensor, steps: int) -> Tensor:
        w, pad = self.conv.weight, self.conv.padding
        u = u.to(w.dtype)  # ``u`` keeps the weight's precision also under mixed precision
        with torch.no_grad():
            for _ in range(steps):
                v = F.normalize(F.conv2d(u, w, padding=pad).flatten(), dim=0).view(
                    1, w.shape[0], *u.shape[2:]
                )
                u = F.normalize(F.conv_transpose2d(v, w, padding=pad).flatten(), dim=0).view_as(u)
        return u

    def operator_norm(self, shape: Sequence[int]) -> Tensor:
        """The current estimate of the conv's norm for inputs of ``shape`` (C, H, W), in the
        weight's precision (outside autocast: the Lipschitz bound needs an accurate norm)."""
        with torch.autocast(self.conv.weight.device.type, enabled=False):
            return self._operator_norm(shape)

    def _operator_norm(self, shape: Sequence[int]) -> Tensor:
        if self.u.shape[1:] != tuple(shape):
            self.u = self._power(torch.randn(1, *shape, device=self.conv.weight.device), self.init_iterations)
        elif self.training:
            self.u = self._power(self.u, self.iterations)
        return F.conv2d(self.u, self.conv.weight, padding=self.conv.padding).norm()

    def forward(self, x: Tensor) -> Tensor:
        """conv(x) with the rescaled weight."""
        scale = torch.clamp(self.operator_norm(x.shape[1:]) / self.coeff, min=1.0)
        return F.conv2d(x, self.conv.weight / scale, self.conv.bias, padding=self.conv.padding)


class ActNorm2d(nn.Module):
    """Per-channel affine map, initialised from the first training batch to zero mean, unit variance."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))
        self._checked = False  # the buffer was read once: later training steps need no host sync

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._checked = False  # a loaded state may be uninitialised
        super()._load_from_state_dict(*args, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        """(x + bias) * exp(log_scale)."""
        if self.training and not self._checked:
            if not bool(self.initialized):
                with torch.no_grad():
                    self.bias.copy_(-x.mean(dim=(0, 2, 3), keepdim=True))
                    self.log_scale.copy_(-x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6).log())
                    self.initialized.fill_(True)
            self._checked = True
        return (x + self.bias) * self.log_scale.exp()


class InvertibleBlock(nn.Module):
    """ActNorm, then x + psi(x) with Lip(psi) <= coeff^3 (see the module docstring)."""

    def __init__(self, channels: int, width: int, coeff: float = 0.9, first: bool = False) -> None:
        super().__init__()
        self.norm = ActNorm2d(channels)
        self.pre = nn.Identity() if first else nn.ELU()
        self.psi = nn.Sequential(
            SoftSpectralConv2d(channels, width, 3, coeff),
            nn.ELU(),
            SoftSpectralConv2d(width, width, 1, coeff),
            nn.ELU(),
            SoftSpectralConv2d(width, channels, 3, coeff),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(n, C, H, W) -> same shape."""
        x = self.norm(x)
        return x + self.psi(self.pre(x))


class InvertibleResNet(nn.Module):
    """phi: image -> ``out_dim`` features: ``len(blocks)`` stages of invertible blocks, a squeeze
    before every stage but the first, then the BN / LeakyReLU / average-pool / Linear head.

    The paper's partitioner (§3.1) is ``blocks=[4, 4, 4, 4, 4], width=160``; the factory signature
    ``(in_shape, out_dim)`` matches :func:`genexp.nets.factory.data_to_vector`.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        out_dim: int,
        blocks: Sequence[int] = (4, 4, 4, 4, 4),
        width: int = 160,
        coeff: float = 0.9,
    ) -> None:
        super().__init__()
        channels, side = int(in_shape[0]), int(in_shape[1])
        stages: list[nn.Module] = []
        for s, n in enumerate(blocks):
            layers: list[nn.Module] = []
            if s > 0:
                if side % 2:
                    raise ConfigError(
                        f"partitioner backbone: cannot squeeze a {side}-px map: use fewer stages "
                        f"(shorter blocks list) for {list(in_shape)} images"
                    )
                layers.append(nn.PixelUnshuffle(2))
                channels, side = channels * 4, side // 2
            layers += [
                InvertibleBlock(channels, width, coeff, first=(s == 0 and i == 0)) for i in range(int(n))
            ]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, int(out_dim)),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(n, C, H, W) -> (n, out_dim)."""
        return self.head(self.stages(x))

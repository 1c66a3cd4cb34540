"""Contrastive (SimCLR / NT-Xent) pre-training of an encoder, and SC-GAN's stage-1 MLP encoder."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.losses.contrastive import nt_xent
from genexp.nets.mlp import MLP


def fit_contrastive(
    embed: Callable[[Tensor], Tensor],
    params: Sequence[nn.Parameter],
    x: Tensor,
    augment: Callable[[Tensor, torch.Generator], Tensor],
    steps: int,
    batch_size: int,
    optimizer: Callable[..., torch.optim.Optimizer],
    temperature: float,
    seed: int = 0,
) -> dict[str, float]:
    """``steps`` NT-Xent steps: two ``augment`` views of a random batch, ``embed`` both.

    Batches are drawn with replacement from ``x`` with a generator on ``x``'s device seeded by
    ``seed`` (the same draws on the CPU as a CPU generator; no host copy per step on an
    accelerator); returns the mean loss of the last 10 % of the steps.
    """
    gen = torch.Generator(device=x.device).manual_seed(int(seed))
    opt = optimizer(params)
    tail: list[Tensor] = []
    with torch.enable_grad():
        for step in range(int(steps)):
            xb = x[torch.randint(0, len(x), (batch_size,), generator=gen, device=x.device)]
            loss = nt_xent(embed(augment(xb, gen)), embed(augment(xb, gen)), temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step >= int(0.9 * steps):
                tail.append(loss.detach().float())
    return {"nt_xent": float(torch.stack(tail).mean()) if tail else 0.0}


def gaussian_noise(std: float) -> Callable[[Tensor, torch.Generator], Tensor]:
    """The augmentation ``x + std * N(0, I)`` (noise drawn from the generator, on its device)."""
    return lambda x, gen: x + std * torch.randn(x.shape, generator=gen, device=gen.device).to(x.device)


class ContrastiveEncoder(nn.Module):
    """E(x) = normalize(MLP(x)): SC-GAN's stage-1 encoder (spec §3), trained by :meth:`fit` with
    NT-Xent between two noisy views ``x + noise_std * N(0, I)`` (no projection head)."""

    def __init__(
        self,
        in_shape: Sequence[int],
        latent_dim: int = 8,
        hidden: Sequence[int] = (256, 256, 256),
        steps: int = 2000,
        batch_size: int = 512,
        lr: float = 1e-3,
        noise_std: float = 0.05,
        temperature: float = 0.5,
    ) -> None:
        super().__init__()
        self.net = MLP(in_shape, latent_dim, hidden, "leaky_relu")
        self.steps, self.batch_size, self.lr = int(steps), int(batch_size), float(lr)
        self.noise_std, self.temperature = float(noise_std), float(temperature)

    def forward(self, x: Tensor) -> Tensor:
        """Unit-norm codes (n, latent_dim)."""
        return F.normalize(self.net(x), dim=1)

    def fit(self, x: Tensor, seed: int = 0) -> dict[str, float]:
        """Train on the training rows ``x``; returns the final NT-Xent loss."""
        return fit_contrastive(
            self,
            list(self.parameters()),
            x,
            gaussian_noise(self.noise_std),
            self.steps,
            self.batch_size,
            lambda p: torch.optim.Adam(p, lr=self.lr),
            self.temperature,
            seed,
        )

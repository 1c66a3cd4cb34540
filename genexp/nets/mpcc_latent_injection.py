"""How a generator receives its latent code z and cluster y (MPCC, thesis §8.1.4; BigGAN's
hierarchical latents): the three injection modes and the conditional normalisation they drive."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.resnet import sn_layer

INJECTIONS = ("split", "shared", "class_bn")


class ConditionalNorm(nn.Module):
    """BatchNorm (1-d or 2-d) whose gain 1 + g(c) and bias b(c) come from the conditioning c:

    - ``cond_dim > 0``: c is a vector and g, b are (spectrally normalised) linear maps of it;
    - ``num_classes > 0``: c is a class index and g, b are per-class embeddings (BigGAN's
      class-conditional BatchNorm);
    - neither: a plain BatchNorm with learned affine parameters.
    """

    def __init__(
        self,
        channels: int,
        dims: int = 2,
        cond_dim: int = 0,
        num_classes: int = 0,
        spectral_norm: bool = True,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        if cond_dim and num_classes:
            raise ValueError("ConditionalNorm takes a vector (cond_dim) or a class (num_classes), not both")
        conditional = bool(cond_dim or num_classes)
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.bn = bn(channels, affine=not conditional)
        self.dims = int(dims)
        self.maps: Optional[nn.ModuleList] = None
        if cond_dim:
            self.maps = nn.ModuleList(
                sn_layer(nn.Linear(cond_dim, channels), init_std, spectral_norm) for _ in range(2)
            )
        elif num_classes:
            self.maps = nn.ModuleList(nn.Embedding(num_classes, channels) for _ in range(2))
            for emb in self.maps:
                nn.init.normal_(emb.weight, 0.0, init_std)

    def forward(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """Normalise ``x`` ((n, C) or (n, C, H, W)) and modulate it with ``cond``."""
        out = self.bn(x)
        if self.maps is None:
            return out
        if cond is None:
            raise ValueError("this ConditionalNorm needs its conditioning (a vector or class indices)")
        shape = (x.shape[0], -1) + (1,) * (x.dim() - 2)
        gain, bias = (m(cond).view(shape) for m in self.maps)
        return out * (1 + gain) + bias


class LatentInjection(nn.Module):
    """Splits (z, y) into the generator's input and the conditioning of its ``n_layers`` norms.

    Modes (thesis §8.1.4):

    - ``split`` (hierarchical, BigGAN default; CIFAR): z is cut into ``n_layers + 1`` equal chunks,
      the first feeds the input layer, chunk i + 1 with a shared class embedding conditions layer i;
    - ``shared`` (shared hierarchical; FMNIST): the whole z feeds the input layer and, with the
      shared embedding, conditions every layer;
    - ``class_bn`` (standard + class-conditional BN; MNIST, Omniglot): z feeds the input layer only;
      each norm has its own per-class embeddings.

    With ``num_classes == 0`` (AIM-MPCC's unconditional generator) there is no embedding: ``split``
    and ``shared`` condition on z alone, ``class_bn`` uses plain BatchNorm.
    """

    def __init__(
        self,
        mode: str,
        latent_dim: int,
        n_layers: int,
        num_classes: int = 0,
        embed_dim: Optional[int] = None,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        if mode not in INJECTIONS:
            raise ConfigError(f"unknown latent injection {mode!r}; choose one of {list(INJECTIONS)}")
        self.mode, self.latent_dim, self.n_layers = mode, int(latent_dim), int(n_layers)
        self.num_classes, self.spectral_norm = int(num_classes or 0), bool(spectral_norm)
        if mode == "split" and self.latent_dim % (self.n_layers + 1):
            raise ConfigError(
                f"injection=split cuts z into {self.n_layers + 1} equal chunks: latent_dim "
                f"{self.latent_dim} must be a multiple of {self.n_layers + 1}"
            )
        self.chunk = self.latent_dim // (self.n_layers + 1) if mode == "split" else self.latent_dim
        use_shared = mode != "class_bn" and self.num_classes > 0
        self.embed_dim = int(embed_dim or self.latent_dim) if use_shared else 0
        self.shared_embedding = nn.Embedding(self.num_classes, self.embed_dim) if use_shared else None
        if self.shared_embedding is not None:
            nn.init.normal_(self.shared_embedding.weight, 0.0, 0.02)

    @property
    def input_dim(self) -> int:
        """Width of the input layer's input."""
        return self.chunk

    @property
    def cond_dim(self) -> int:
        """Width of each norm's conditioning vector (0 for class embeddings / plain BN)."""
        return 0 if self.mode == "class_bn" else self.chunk + self.embed_dim

    def make_norm(self, channels: int, dims: int) -> ConditionalNorm:
        """A norm layer that fits this injection."""
        classes = self.num_classes if self.mode == "class_bn" else 0
        return ConditionalNorm(channels, dims, self.cond_dim, classes, self.spectral_norm)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> tuple[Tensor, list[Optional[Tensor]]]:
        """(input of the first layer, one conditioning per norm layer)."""
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass y")
        if self.mode == "class_bn":
            return z, [y.long() if self.num_classes else None] * self.n_layers
        chunks = list(z.split(self.chunk, dim=1)) if self.mode == "split" else [z] * (self.n_layers + 1)
        if self.shared_embedding is not None:
            e = self.shared_embedding(y.long())
            return chunks[0], [torch.cat([c, e], dim=1) for c in chunks[1:]]
        return chunks[0], chunks[1:]

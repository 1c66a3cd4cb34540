"""Tiny models and datamodules for the metric-callback tests (imported by tests and the DDP job)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from genexp.callbacks.metric_base import chunk_seed
from genexp.data.base import InMemoryDataModule
from genexp.models.base import GenerativeModule
from genexp.priors.normal import NormalPrior
from genexp.run_record import run_record


class _Stub(GenerativeModule):
    """Shared no-op training/eval steps with one trainable scalar (so optimizers and DDP work)."""

    def __init__(self, data_shape: Sequence[int], value_range: Sequence[float] | None = None) -> None:
        super().__init__(data_shape, value_range)
        self.anchor = nn.Parameter(torch.zeros(1))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return (self.anchor**2).sum() + 0 * batch[0].sum()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        return None

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        return None

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


class MixtureSampler(_Stub):
    """Samples an isotropic Gaussian mixture on the given ``means`` (a subset of a toy's modes)."""

    def __init__(self, means: Tensor, sigma: float) -> None:
        super().__init__((2,))
        self.register_buffer("means", means.float().clone())
        self.sigma = sigma

    def sample(self, n: int) -> Tensor:
        idx = torch.randint(len(self.means), (n,), device=self.means.device)
        return self.means[idx] + self.sigma * torch.randn(n, 2, device=self.means.device)


class FixedImages(_Stub):
    """Samples = the first n rows of a fixed tensor (one chunk: batch_size >= n)."""

    def __init__(self, images: Tensor) -> None:
        super().__init__(tuple(images.shape[1:]), (-1.0, 1.0))
        self.register_buffer("images", images.clone())

    def sample(self, n: int) -> Tensor:
        return self.images[:n]


def class_images(
    n: int, num_classes: int = 4, size: int = 8, seed: int = 0, noise: float = 0.15
) -> tuple[Tensor, Tensor]:
    """Images (n, 1, size, size) in [-1, 1]: class k lights up row band k, plus Gaussian noise."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % num_classes
    x = torch.full((n, 1, size, size), -0.8)
    band = size // num_classes
    for k in range(num_classes):
        x[y == k, :, k * band : (k + 1) * band, :] = 0.8
    x = (x + noise * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    return x, y


class ClassImages(InMemoryDataModule):
    """A labelled image datamodule built from :func:`class_images` (``outlier_classes`` optional)."""

    kind = "image"

    def __init__(
        self,
        n: int = 400,
        num_classes: int = 4,
        size: int = 8,
        name: str = "bands",
        outlier_classes: list[int] | None = None,
        batch_size: int = 50,
    ) -> None:
        super().__init__(
            name=name,
            shape=(1, size, size),
            batch_size=batch_size,
            eval_batch_size=100,
            num_classes=num_classes,
            value_range=(-1.0, 1.0),
        )
        self.n = n
        self.outlier_classes = outlier_classes

    def load_splits(self) -> dict[str, tuple[Tensor, Tensor | None]]:
        k, s = self.num_classes, self.shape[-1]
        return {
            "train": class_images(self.n, k, s, seed=1),
            "val": class_images(self.n // 4, k, s, seed=2),
            "test": class_images(self.n // 2, k, s, seed=3),
        }


class ImageAutoencoder(_Stub):
    """A fixed linear 'autoencoder' on band images with every capability metric callbacks use.

    encode: per-band means (num_classes dims); decode: paint bands; cluster: brightest band
    (permuted by ``cluster_shift``); anomaly_score: reconstruction error; sample: band images of
    random classes (the data distribution up to noise).
    """

    def __init__(self, num_classes: int = 4, size: int = 8, cluster_shift: int = 1) -> None:
        super().__init__((1, size, size), (-1.0, 1.0))
        self.k, self.size, self.shift = num_classes, size, cluster_shift
        self.prior = NormalPrior(num_classes)

    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        bands = x.reshape(len(x), self.k, -1).mean(-1)
        return bands, torch.full_like(bands, -2.0)

    def encode(self, x: Tensor) -> Tensor:
        return self.encode_distribution(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        band = self.size // self.k
        return z.repeat_interleave(band * self.size, dim=1).reshape(len(z), 1, self.size, self.size)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def cluster(self, x: Tensor) -> Tensor:
        return (self.encode(x).argmax(1) + self.shift) % self.k

    def anomaly_score(self, x: Tensor) -> Tensor:
        return (x - self.reconstruct(x)).pow(2).flatten(1).mean(1) + self.encode(x)[:, 0]

    def sample(self, n: int) -> Tensor:
        y = torch.randint(self.k, (n,), device=self.anchor.device)
        x = torch.full((n, 1, self.size, self.size), -0.8, device=self.anchor.device)
        band = self.size // self.k
        for k in range(self.k):
            x[y == k, :, k * band : (k + 1) * band, :] = 0.8
        return (x + 0.15 * torch.randn_like(x)).clamp(-1, 1)


def recorded_values(tmp_path: Path, callbacks: list, model, dm) -> dict:
    """The values ``callbacks`` record in one test phase of ``model`` on ``dm``."""
    from helpers.trainers import bare_trainer

    trainer = bare_trainer(tmp_path, callbacks)
    trainer.test(model, datamodule=dm, verbose=False)
    return run_record(trainer).results


def callback_samples(model, n: int, seed: int, batch_size: int) -> Tensor:
    """The samples a metric callback draws: chunk k of ``batch_size`` rows under chunk_seed(seed, k)."""
    out = []
    for k in range(math.ceil(n / batch_size)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(chunk_seed(seed, k))
            out.append(model.sample(min(batch_size, n - k * batch_size)))
    return torch.cat(out)

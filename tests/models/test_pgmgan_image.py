"""PGMGAN's image stage: constrained invertible backbone, augmentations, mining, SCAN partitioner, nets."""

from __future__ import annotations

import functools

import pytest
import torch
from helpers.cli import has_mnist

from genexp.data.augment import ImageAugment
from genexp.errors import ConfigError
from genexp.models.components.scan_partitioner import ScanPartitioner, mine_neighbors
from genexp.nets.pgmgan_iresnet import InvertibleResNet, SoftSpectralConv2d
from genexp.nets.pgmgan_projection import ConditionalResNetGenerator, ProjectionDiscriminator


def test_soft_spectral_conv_is_below_its_coefficient() -> None:
    torch.manual_seed(0)
    conv = SoftSpectralConv2d(3, 6, 3, coeff=0.9, init_iterations=100)
    conv.conv.weight.data.mul_(20)
    conv.eval()
    a, b = torch.randn(64, 3, 8, 8), torch.randn(64, 3, 8, 8)
    ratios = (conv(a) - conv(b)).flatten(1).norm(dim=1) / (a - b).flatten(1).norm(dim=1)
    assert ratios.max().item() <= 0.9 * 1.01
    small = SoftSpectralConv2d(3, 6, 3, coeff=0.9)
    small.conv.weight.data.mul_(1e-3)  # already below 0.9: left unchanged
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(small(x), small.conv(x), atol=1e-6)


def test_invertible_resnet_shapes_and_blocks_are_contractive_residuals() -> None:
    torch.manual_seed(0)
    net = InvertibleResNet((3, 16, 16), 10, blocks=(1, 1, 1), width=8)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    assert net(x).shape == (4, 10)
    stage_channels = [s[-1].norm.bias.shape[1] for s in net.stages]
    assert stage_channels == [3, 12, 48]  # squeeze: 4x the channels, half the side
    net.eval()
    block = net.stages[1][-1]
    h, g = torch.randn(8, 12, 8, 8), torch.randn(8, 12, 8, 8)
    psi = lambda v: block.psi(block.pre(v))  # noqa: E731
    lip = (psi(h) - psi(g)).flatten(1).norm(dim=1) / (h - g).flatten(1).norm(dim=1)
    assert lip.max().item() < 0.9  # Lip(psi) <= 0.9^3 (ELU is 1-Lipschitz)
    with pytest.raises(ConfigError, match="cannot squeeze a 3-px map"):  # a user's config error: one line
        InvertibleResNet((3, 6, 6), 10, blocks=(1, 1, 1), width=4)


def test_image_augment_is_per_image_and_in_range() -> None:
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    same = x[:1].expand(8, -1, -1, -1).contiguous()
    out = ImageAugment()(same, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    assert not torch.allclose(out[0], out[1])  # different crops for identical inputs
    gray = ImageAugment(jitter=0.0, grayscale_p=0.0)(torch.zeros(2, 1, 16, 16), torch.Generator())
    assert torch.allclose(gray, torch.zeros_like(gray))


def test_mine_neighbors_finds_the_nearest_other_rows() -> None:
    h = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    nb = mine_neighbors(h, 1, chunk=3)
    assert nb.view(-1).tolist() == [1, 0, 3, 2]


def test_scan_partitioner_fit_runs_all_stages() -> None:
    torch.manual_seed(0)
    part = ScanPartitioner(
        (3, 8, 8),
        3,
        functools.partial(InvertibleResNet, blocks=(1, 1), width=4),
        feature_dim=8,
        projection_dim=4,
        pretext_steps=2,
        pretext_batch_size=8,
        num_neighbors=2,
        scan_steps=2,
        scan_batch_size=4,
    )
    info = part.fit(torch.rand(24, 3, 8, 8) * 2 - 1)
    assert {"nt_xent", "scan_loss", "scan_balance", "parts_used"} <= set(info)
    assert part(torch.rand(5, 3, 8, 8)).shape == (5, 3)


def test_projection_discriminator_and_conditional_generator() -> None:
    torch.manual_seed(0)
    d = ProjectionDiscriminator((3, 16, 16), 1, num_classes=4, width=8, blocks=("down", "same")).eval()
    x, y = torch.randn(3, 3, 16, 16), torch.tensor([0, 1, 3])
    h = torch.relu(d.body(x)).sum(dim=(2, 3))
    expected = d.linear(h) + (d.embedding(y) * h).sum(1, keepdim=True)
    assert torch.allclose(d(x, y), expected, atol=1e-5)
    g = ConditionalResNetGenerator(8, (3, 16, 16), num_classes=4, value_range=(-1, 1), width=8)
    out = g(torch.randn(3, 8), y)
    assert out.shape == (3, 3, 16, 16) and out.abs().max() <= 1


@pytest.mark.slow
@pytest.mark.skipif(not has_mnist(), reason="needs MNIST (make assets)")
def test_pgmgan_image_through_the_cli(genexp_cli) -> None:
    run = genexp_cli(
        "experiment=pgm_stacked_mnist_cpu",
        "trainer=smoke",
        "trainer.max_steps=5",
        "trainer.check_val_every_n_epoch=1",
        "logger=none",
        "metric=none",
        "dataset.n_train=256",
        "model.num_partitions=4",
        "model.partitioner.pretext_steps=2",
        "model.partitioner.scan_steps=2",
        "model.partitioner.pretext_batch_size=16",
        "model.partitioner.scan_batch_size=8",
        "model.partitioner.num_neighbors=3",
        "model.generator.width=16",
        "model.discriminator.width=16",
        "model.partitioner.backbone.width=8",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (run.run_dir / "checkpoints" / "stage_partitioner.pt").exists()
    assert run.metrics()["stage/partitioner/parts_used"] >= 1

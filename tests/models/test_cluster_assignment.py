"""``cluster(x)`` of every clustering model returns the right component: components far apart, an
identity encoder (or points at the means), inputs in a permuted order (so argmin for argmax, a
shifted index or a component-independent answer fails), and cases where the mixture weights, the
component variances or LC-VaDE's side features decide."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from genexp.models.aim_mpcc import AIMMPCC
from genexp.models.components.cluster_latents import ClusterLatents, MappingNetworks
from genexp.models.components.contrastive_encoder import ContrastiveEncoder
from genexp.models.components.partitioner import KMeansPartitioner
from genexp.models.components.scan_partitioner import ScanPartitioner
from genexp.models.lc_vade import LCVaDE
from genexp.models.mpcc import MPCC
from genexp.models.pgmgan import PGMGAN
from genexp.models.scgan import SCGAN
from genexp.models.vade import VaDE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.lc_gp_decoder import AmortisedGPDecoder
from genexp.nets.lc_interp_encoder import InterpolationEncoder
from genexp.nets.mpcc_generators import ConditionalMLPGenerator
from genexp.nets.pgmgan_conditional import ConditionalMLP
from genexp.nets.pgmgan_maxout import MaxoutMLP
from genexp.nets.scgan_eigen import EigenMLP
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder
from genexp.priors import GMMPrior
from genexp.priors.floored_gmm import FlooredGMMPrior

MEANS = torch.tensor([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
ORDER = torch.tensor([2, 0, 1, 1, 2, 0, 2, 1])


class IdentityCode(nn.Module):
    """An encoder whose posterior mean is the input itself (and a fixed log-variance)."""

    def __init__(self, logvar: float = -2.0) -> None:
        super().__init__()
        self.logvar = logvar

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.flatten(1)
        return torch.cat([mu, torch.full_like(mu, self.logvar)], dim=1)


def near(means: torch.Tensor, order: torch.Tensor, scale: float = 0.5) -> torch.Tensor:
    """Points scattered around ``means[order]``."""
    return means[order] + scale * torch.randn(
        len(order), means.shape[1], generator=torch.Generator().manual_seed(0)
    )


# -- VaDE -----------------------------------------------------------------------------------------


def vade() -> VaDE:
    torch.manual_seed(0)
    model = VaDE(
        data_shape=(2,),
        latent_dim=2,
        encoder=lambda in_shape, out_dim: IdentityCode(),
        decoder=functools.partial(vector_to_data, arch="mlp", hidden=(4,)),
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        prior=functools.partial(GMMPrior, num_components=3, learn_weights=True),
    )
    with torch.no_grad():
        model.prior.means.copy_(MEANS)
        model.prior.logvars.zero_()
    return model


def test_vade_clusters_points_to_their_component() -> None:
    model = vade()
    assert model.cluster(near(MEANS, ORDER)).tolist() == ORDER.tolist()


def test_vade_cluster_weighs_mixture_weights_and_variances() -> None:
    model = vade()
    mid = torch.tensor([[5.0, 5.0]])  # equidistant from components 0 and 1
    with torch.no_grad():
        model.prior.logits.copy_(torch.tensor([2.0, 0.0, 0.0]))
    assert model.cluster(mid).item() == 0
    with torch.no_grad():
        model.prior.logits.copy_(torch.tensor([0.0, 2.0, 0.0]))
    assert model.cluster(mid).item() == 1
    with torch.no_grad():  # component 2 narrow at the origin, component 0 wide at (10, 0)
        model.prior.logits.zero_()
        model.prior.means[2] = torch.tensor([0.0, 0.0])
        model.prior.logvars.copy_(torch.tensor([[math.log(36.0)] * 2, [0.0, 0.0], [math.log(0.25)] * 2]))
    point = torch.tensor([[3.0, 0.0]])  # nearer to component 2's mean, but 6 of its sigmas away
    assert model.cluster(point).item() == 0


# -- MPCC and AIM-MPCC ----------------------------------------------------------------------------


def mpcc_nets() -> dict:
    return dict(
        data_shape=(2,),
        latent_dim=2,
        generator=functools.partial(ConditionalMLPGenerator, hidden=(4,)),
        discriminator=functools.partial(mlp_critic, trunk=(4,), spectral_norm=False),
        encoder=functools.partial(mlp_encoder, trunk=(4,), hidden=(4,), head_hidden=4, spectral_norm=False),
        share_encoder=False,
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        e_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
    )


def test_mpcc_clusters_by_the_responsibilities_at_the_encoder_mean() -> None:
    torch.manual_seed(0)
    model = MPCC(num_clusters=3, prior=functools.partial(FlooredGMMPrior, std_floor=0.5), **mpcc_nets())
    model.encoder = IdentityCode()
    with torch.no_grad():
        model.prior.means.copy_(MEANS)
        model.prior.logvars.zero_()
    x = near(MEANS, ORDER)
    assert model.cluster(x).tolist() == ORDER.tolist()
    model.generator.eval()
    torch.testing.assert_close(model.reconstruct(x), model.generator(x, ORDER))  # G(mu(x), its cluster)
    with torch.no_grad():  # variances decide: a point nearer to the narrow component's mean
        model.prior.means[2] = torch.tensor([0.0, 0.0])
        model.prior.logvars.copy_(torch.tensor([[math.log(36.0)] * 2, [0.0, 0.0], [math.log(0.01)] * 2]))
    assert model.cluster(torch.tensor([[4.0, 0.0]])).item() == 0


def test_aim_mpcc_has_one_component_and_reconstructs_without_a_cluster() -> None:
    torch.manual_seed(0)
    nets = mpcc_nets()
    nets.update(
        share_encoder=True,
        discriminator=functools.partial(mlp_critic, trunk=(4,), spectral_norm=False),
        encoder=functools.partial(mlp_encoder, trunk=(4,), hidden=(4,), head_hidden=4, spectral_norm=False),
    )
    model = AIMMPCC(**nets)
    model.encoder = IdentityCode()
    model.generator.eval()
    x = near(MEANS, ORDER)
    assert model.infer_component(x) is None and not hasattr(model, "cluster")
    torch.testing.assert_close(model.reconstruct(x), model.generator(x))


# -- SC-GAN ---------------------------------------------------------------------------------------

CENTRES3 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]])


def test_cluster_latents_assign_the_nearest_centre() -> None:
    lat = ClusterLatents(3, 3)
    lat.centers.copy_(CENTRES3)
    assert lat.assign(near(CENTRES3, ORDER, 0.1)).tolist() == ORDER.tolist()


def test_cluster_latents_fit_gives_one_cluster_per_blob_with_its_centre() -> None:
    eps = near(CENTRES3, torch.arange(150) % 3, 0.05)
    lat = ClusterLatents(3, 3, kmeans_n_init=2)
    lat.fit(eps)
    labels = lat.assign(eps)
    blob_of_cluster = {int(labels[i]): i % 3 for i in range(150)}
    assert sorted(blob_of_cluster) == [0, 1, 2]  # three clusters, one blob each
    assert all(blob_of_cluster[int(labels[i])] == i % 3 for i in range(150))
    for cluster, blob in blob_of_cluster.items():
        torch.testing.assert_close(lat.centers[cluster], eps[blob::3].mean(0))


def test_scgan_clusters_the_encoder_latent() -> None:
    torch.manual_seed(0)
    model = SCGAN(
        data_shape=(3,),
        generator=functools.partial(EigenMLP, hidden=4, num_layers=1, n_basis=2),
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(4,)),
        encoder=functools.partial(ContrastiveEncoder, hidden=(4,)),
        mappers=functools.partial(MappingNetworks, hidden=(4,)),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_clusters=3,
        latent_dim=3,
    )
    model.encoder = nn.Identity()
    model.latents.centers.copy_(CENTRES3)
    assert model.cluster(near(CENTRES3, ORDER, 0.1)).tolist() == ORDER.tolist()


# -- PGMGAN's partitioners ------------------------------------------------------------------------


def voronoi(head: nn.Linear, centres: torch.Tensor) -> None:
    """Logits c.x - |c|^2 / 2: the arg-max is the nearest centre."""
    with torch.no_grad():
        head.weight.copy_(centres)
        head.bias.copy_(-0.5 * centres.pow(2).sum(1))


def test_pgmgan_cluster_is_the_partitioners_cell() -> None:
    torch.manual_seed(0)
    model = PGMGAN(
        data_shape=(2,),
        generator=functools.partial(ConditionalMLP, num_classes=3, hidden=(4,)),
        discriminator=functools.partial(MaxoutMLP, num_classes=3, hidden=(4,)),
        partitioner=functools.partial(KMeansPartitioner),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_partitions=3,
        latent_dim=2,
    )
    voronoi(model.partitioner.net, MEANS)
    assert model.cluster(near(MEANS, ORDER)).tolist() == ORDER.tolist()


def test_scan_partitioner_assigns_the_arg_max_part() -> None:
    part = ScanPartitioner((2,), 3, backbone=lambda in_shape, out_dim: nn.Flatten(), feature_dim=2)
    voronoi(part.head, MEANS)
    assert part.assign(near(MEANS, ORDER)).tolist() == ORDER.tolist()


# -- LC-VaDE --------------------------------------------------------------------------------------


def lc_vade() -> LCVaDE:
    torch.manual_seed(0)
    model = LCVaDE(
        data_shape=(5, 20),
        encoder=functools.partial(InterpolationEncoder, num_ref=8, channels=[2]),
        decoder=functools.partial(AmortisedGPDecoder, num_inducing=4, channels=[2], kernel_hidden=4),
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_classes=3,
        latent_dim=4,
        prior=functools.partial(GMMPrior, num_components=3),
    )
    with torch.no_grad():
        model.prior.means.copy_(MEANS4)
        model.prior.logvars.zero_()
        model.feature_prior.means.copy_(torch.tensor([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0]]))
        model.feature_prior.logvars.zero_()
    return model


MEANS4 = torch.cat([MEANS, torch.zeros(3, 2)], dim=1)  # the GP kernel takes the last 2 latent dims


def packed(z: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Packed curves whose side features are ``f``; the (stubbed) encoder returns ``z``."""
    x = torch.zeros(len(z), 5, 20)
    x[:, 4, :3] = f
    return x


def test_lc_vade_clusters_by_latent_and_side_features() -> None:
    model = lc_vade()
    fmeans = model.feature_prior.means.detach()
    z = near(MEANS4, ORDER)
    model.encode_distribution = lambda x: (z, torch.full_like(z, -2.0))
    assert model.cluster(packed(z, fmeans[ORDER])).tolist() == ORDER.tolist()
    # z equidistant from components 0 and 1: the side features decide
    z = torch.tensor([[5.0, 5.0, 0.0, 0.0]] * 2)
    model.encode_distribution = lambda x: (z, torch.full_like(z, -2.0))
    assert model.cluster(packed(z, fmeans[[1, 0]])).tolist() == [1, 0]
    torch.testing.assert_close(model.responsibilities(packed(z, fmeans[[1, 0]])).sum(1), torch.ones(2))

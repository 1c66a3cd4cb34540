"""GTN and latent GTN (spec gtn.md §2): the training loss is the MSE of h(y) against the paired,
standardised targets of the next rows of a fresh permutation; pairs come from a seeded N(0, I)
draw per split matched to the standardised targets; sampling undoes the standardisation (and, for
the latent GTN, decodes the generated codes)."""

from __future__ import annotations

import functools

import torch

from genexp.models.components.gtn_pairing import pair
from genexp.models.deterministic_ae import DeterministicAutoencoder
from genexp.models.gtn import GTN
from genexp.models.latent_gtn import LatentGTN
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.nets.gtn_mlp import GTNMLP

NET = functools.partial(GTNMLP, width=8, n_linear=3, bn_layers=0)
OPT = functools.partial(torch.optim.SGD, lr=0.05)
MEAN, STD = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([2.0, 0.5, 3.0])


def gtn(**kwargs) -> GTN:
    torch.manual_seed(0)
    model = GTN(data_shape=(3,), net=NET, optimizer=OPT, standardize=True, **kwargs)
    model.x_mean.copy_(MEAN)
    model.x_std.copy_(STD)
    return model


def pairs(n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, generator=g), MEAN + STD * torch.randn(n, 3, generator=g)


def test_gtn_loss_is_the_mse_on_the_next_rows_of_one_permutation_per_epoch() -> None:
    model = gtn()
    y, x = pairs()
    model.pairs = {"train": (y, x)}
    model.on_train_epoch_start()
    torch.manual_seed(3)
    first = model.training_step((torch.zeros(8, 3), None), 0)
    second = model.training_step((torch.zeros(8, 3), None), 1)
    torch.manual_seed(3)
    order = torch.randperm(20)
    for loss, idx in ((first, order[:8]), (second, order[8:16])):
        target = (x[idx] - MEAN) / STD
        torch.testing.assert_close(loss, (model.net(y[idx]) - target).pow(2).mean())
    unstandardised = (model.net(y[order[:8]]) - x[order[:8]]).pow(2).mean()
    assert abs(float(first.detach() - unstandardised.detach())) > 0.5
    opt = model.configure_optimizers()
    idx = order[:8]
    loss = lambda: (model.net(y[idx]) - (x[idx] - MEAN) / STD).pow(2).mean()  # noqa: E731
    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert float(loss().detach()) < float(before.detach())


def test_gtn_pairs_each_split_with_its_own_seeded_gaussian_draw_on_standardised_targets() -> None:
    model = gtn(pair_seed=11, tie_tol=0.01, pair_block=4)
    _, x = pairs(30)
    y, xy, stats = model.make_pairs(x, "val")
    expected_y = torch.randn(x.shape, generator=torch.Generator().manual_seed(11 + 1))  # val: seed + 1
    torch.testing.assert_close(y, expected_y)
    match = pair(expected_y, (x - MEAN) / STD, 0.01, 4)
    torch.testing.assert_close(xy, x[match])
    assert not torch.equal(match, pair(expected_y, x, 0.01, 4))  # standardising changes the pairing
    assert set(stats) >= {"spearman_norms", "mean_cosine"}


def test_gtn_samples_are_h_of_gaussian_draws_in_data_units() -> None:
    model = gtn()
    model.eval()
    torch.manual_seed(4)
    out = model.sample(5)
    torch.manual_seed(4)
    y = torch.randn(5, 3)
    torch.testing.assert_close(out, model.net(y) * STD + MEAN)


def test_latent_gtn_regresses_codes_and_decodes_its_samples() -> None:
    torch.manual_seed(0)
    ae = DeterministicAutoencoder(
        data_shape=(1, 4, 4),
        value_range=(-1.0, 1.0),
        latent_dim=3,
        encoder=functools.partial(data_to_vector, arch="mlp", hidden=(8,)),
        decoder=functools.partial(vector_to_data, arch="mlp", hidden=(8,)),
        optimizer=OPT,
    )
    model = LatentGTN(data_shape=(1, 4, 4), autoencoder=ae, net=NET, optimizer=OPT, standardize=True)
    model.x_mean.copy_(MEAN)
    model.x_std.copy_(STD)
    model.eval()
    assert model.dim == 3
    torch.manual_seed(4)
    out = model.sample(5)
    torch.manual_seed(4)
    codes = model.net(torch.randn(5, 3)) * STD + MEAN
    torch.testing.assert_close(out, ae.decoder(codes))
    x = torch.rand(4, 1, 4, 4) * 2 - 1
    torch.testing.assert_close(model.encode(x), ae.encoder(x))
    torch.testing.assert_close(model.reconstruct(x), ae.decoder(ae.encoder(x)))

"""SC-GAN: EigenGAN layer, batched MLPs, latent models, mapping networks, model steps, CLI."""

from __future__ import annotations

import functools

import pytest
import torch

from genexp.errors import ConfigError
from genexp.models.components.cluster_latents import ClusterLatents, MappingNetworks
from genexp.models.components.contrastive_encoder import ContrastiveEncoder
from genexp.models.scgan import SCGAN
from genexp.nets.factory import data_to_vector
from genexp.nets.scgan_batched import BatchedMLP
from genexp.nets.scgan_eigen import EigenMLP, SubspaceLayer


def test_orthogonality_penalty_is_zero_for_orthogonal_bases_only() -> None:
    layer = SubspaceLayer(dim=16, n_basis=4)
    assert layer.orthogonality_penalty().item() == pytest.approx(0.0, abs=1e-10)  # orthogonal init
    with torch.no_grad():
        layer.U.copy_(torch.linalg.qr(torch.randn(16, 4))[0].t())
    assert layer.orthogonality_penalty().item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        layer.U.mul_(2.0)
    assert layer.orthogonality_penalty().item() > 0.1
    g = EigenMLP(8, (2,), hidden=16, num_layers=2, n_basis=4)
    assert g.orthogonality_penalty().item() == pytest.approx(0.0, abs=1e-10)


def test_eigen_generator_uses_its_noise_and_zero_noise_is_fixed() -> None:
    g = EigenMLP(8, (2,), hidden=16, num_layers=3, n_basis=4, scale_init="eigengan")
    assert torch.equal(g.subspaces[0].L.data, torch.tensor([12.0, 9.0, 6.0, 3.0]))
    eps = torch.randn(5, 8)
    fixed, noise = g.zero_noise(5), torch.randn(5, 3, 4)
    assert torch.equal(fixed, torch.zeros(5, 3, 4))
    recon, gen = g(eps, fixed), g(eps, noise)
    with torch.no_grad():
        for sub in g.subspaces:
            sub.U.mul_(2.0)
    # zero noise: phi_l = mu_l, so the bases do not enter reconstruction mode; random noise uses them
    assert torch.equal(g(eps, fixed), recon) and not torch.allclose(g(eps, noise), gen)
    assert not torch.allclose(g(eps), g(eps))


def test_batched_mlp_matches_its_indexed_form() -> None:
    net = BatchedMLP(3, 4, 2, hidden=(5,))
    x = torch.randn(3, 7, 4)
    out = net(x)
    idx = torch.tensor([0] * 7 + [1] * 7 + [2] * 7)
    assert torch.allclose(net.forward_indexed(x.reshape(21, 4), idx), out.reshape(21, 2), atol=1e-6)


def _two_blobs(n: int = 400) -> torch.Tensor:
    eps = torch.nn.functional.normalize(torch.randn(n, 3) * 0.05 + torch.tensor([1.0, 0, 0]), dim=1)
    eps[n // 2 :] = -eps[n // 2 :]
    return eps


def test_cluster_latents_fit_and_the_four_settings() -> None:
    torch.manual_seed(0)
    eps = _two_blobs()
    lat = ClusterLatents(3, 2, kmeans_n_init=2)
    lat.fit(eps)
    assert torch.allclose(lat.weights, torch.tensor([0.5, 0.5]))
    assert torch.allclose(lat.centers.abs()[:, 0], torch.ones(2), atol=0.01)
    mappers = MappingNetworks(3, 2, omega_dim=3, hidden=(8,), steps=5, batch_size=16)
    mappers.fit(eps, lat.assign(eps))
    for setting in ("gaussian", "centers", "mapping", "data"):
        assert lat.sample(10, setting, mappers).shape == (10, 3)
    drawn = lat.sample(20, "data")
    assert all(any(torch.equal(row, b) for b in eps) for row in drawn)  # real latents
    again = ClusterLatents(3, 2)
    again.load_state_dict(lat.state_dict())  # the latent bank is resized on load
    assert torch.equal(again.bank, lat.bank)
    with pytest.raises(ValueError):
        lat.sample(3, "mapping")


def _scgan(**kwargs) -> SCGAN:
    args = dict(
        data_shape=(2,),
        generator=functools.partial(EigenMLP, hidden=16, num_layers=2, n_basis=3),
        discriminator=functools.partial(data_to_vector, arch="mlp", hidden=(16,)),
        encoder=functools.partial(ContrastiveEncoder, hidden=(16,), steps=10, batch_size=64),
        mappers=functools.partial(MappingNetworks, hidden=(8,), steps=5, batch_size=16),
        g_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        d_optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        num_clusters=2,
        latent_dim=4,
        loss="hinge",
    )
    args.update(kwargs)
    return SCGAN(**args)


def test_scgan_stages_and_steps_touch_only_their_own_nets() -> None:
    torch.manual_seed(0)
    model = _scgan()
    x = torch.cat([torch.randn(100, 2) * 0.1 - 2, torch.randn(100, 2) * 0.1 + 2])
    info = model.prepare_stages(x)
    assert {"nt_xent", "aae_recon"} <= set(info)
    assert model.stage_done("encoder") and model.stage_done("mappers")
    d_out = model.discriminator_step(x[:32])
    assert {"d_loss", "d_rec_loss"} <= set(d_out)
    d_out["loss"].backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is not None for p in model.rec_discriminator.parameters())
    model.zero_grad()
    g_out = model.generator_step(32)
    g_out["loss"].backward()
    assert all(p.grad is not None for p in model.generator.parameters())
    assert all(p.grad is None for p in [*model.encoder.parameters(), *model.mappers.parameters()])
    assert model.reconstruct(x[:5]).shape == (5, 2) and model.cluster(x[:5]).shape == (5,)
    assert len(model.configure_optimizers()[1].param_groups[0]["params"]) == 2 * len(
        list(model.discriminator.parameters())
    )


def test_scgan_rejects_bad_values() -> None:
    with pytest.raises(ConfigError):
        _scgan(latent_model="flow")
    with pytest.raises(ConfigError):
        _scgan(num_clusters=0)


TINY = [
    "dataset=eight_gaussians",
    "dataset.n_train=1000",
    "dataset.n_test=1000",
    "trainer=smoke",
    "logger=none",
    "model.encoder.steps=10",
    "model.encoder.batch_size=64",
    "model.mappers.steps=5",
]


def test_scgan_cli_runs_all_stages_and_reuses_them(genexp_cli, tmp_path) -> None:
    run = genexp_cli("model=scgan", *TINY, "metric=[toy2d,reconstruction]", "metric.toy2d.n_samples=1000")
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    assert {"test/modes", "test/low_density_frac", "test/reconstruction_mse", "stage/encoder/nt_xent"} <= set(
        metrics
    )
    stages = run.run_dir / "stages"
    assert (stages / "encoder.pt").exists() and (stages / "mappers.pt").exists()
    assert any((run.run_dir / "samples").glob("samples_*.png"))
    again = genexp_cli(
        "model=scgan",
        *TINY,
        "metric=none",
        f"model.stages.encoder={stages / 'encoder.pt'}",
        f"model.stages.mappers={stages / 'mappers.pt'}",
        run_dir=tmp_path / "again",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.metrics()["stage/mappers/loaded_from"].endswith("mappers.pt")


def test_scgan_other_latent_setting_through_the_cli(genexp_cli) -> None:
    run = genexp_cli("model=scgan", *TINY, "model.latent_model=data", "metric=none")
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (run.run_dir / "stages" / "mappers.pt").exists()  # (d) needs no mapping networks

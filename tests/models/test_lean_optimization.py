"""genexp's lean optimisation path (genexp/models/lean_optimization.py): a Trainer's steps give
bit-identical losses and weights to a hand-written loop, and to Lightning's own path with gradient
clipping and accumulation, for an automatic- and a manual-optimisation model; hooks that someone
overrides still run; anything the lean path does not cover falls back to Lightning's path."""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from helpers.trainers import bare_trainer
from lightning.pytorch.plugins.precision import MixedPrecision
from lightning.pytorch.profilers import SimpleProfiler

from genexp.data.base import TensorBatchLoader
from genexp.models import lean_optimization as lean
from genexp.models.gan import GAN
from genexp.models.vae import VAE
from genexp.nets.factory import data_to_vector, vector_to_data

STEPS, BATCH = 6, 16


def _data() -> torch.Tensor:
    return torch.rand(STEPS * BATCH, 8, generator=torch.Generator().manual_seed(3)) * 2 - 1


def _loader(x: torch.Tensor) -> TensorBatchLoader:
    return TensorBatchLoader(x, batch_size=BATCH, seed=0)


def _vae() -> VAE:
    torch.manual_seed(0)
    return VAE(
        data_shape=[8],
        value_range=[-1, 1],
        encoder=partial(data_to_vector, arch="mlp", hidden=[16]),
        decoder=partial(vector_to_data, arch="mlp", hidden=[16]),
        optimizer=partial(torch.optim.Adam, lr=1e-2),
        latent_dim=2,
    )


def _gan() -> GAN:
    torch.manual_seed(0)
    return GAN(
        data_shape=[8],
        value_range=[-1, 1],
        generator=partial(vector_to_data, arch="mlp", hidden=[16]),
        discriminator=partial(data_to_vector, arch="mlp", hidden=[16]),
        g_optimizer=partial(torch.optim.Adam, lr=1e-2),
        d_optimizer=partial(torch.optim.Adam, lr=1e-2),
        latent_dim=4,
    )


class _Record(L.Callback):
    """Each step's returned loss; reseeds the global RNG where training starts."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(1)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, idx: int) -> None:
        self.losses.append(outputs["loss"].detach().clone())


def _fit(tmp_path: Path, model: L.LightningModule, lean_steps: bool = True, **kwargs: Any) -> tuple:
    model.lean_steps = lean_steps
    record = _Record()
    trainer = bare_trainer(tmp_path, [record, *kwargs.pop("callbacks", [])], max_epochs=1, **kwargs)
    trainer.fit(model, train_dataloaders=_loader(_data()))
    return record.losses, trainer


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    different = [k for k, v in a.state_dict().items() if not torch.equal(v, b.state_dict()[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def test_lean_vae_steps_equal_a_plain_loop_bit_for_bit(tmp_path: Path) -> None:
    model = _vae()
    plain = copy.deepcopy(model)
    losses, trainer = _fit(tmp_path, model)
    assert isinstance(trainer.fit_loop.epoch_loop.automatic_optimization, lean.LeanAutomaticOptimization)
    assert lean.lean_plan(trainer) is not None and trainer.global_step == STEPS
    opt = plain.configure_optimizers()
    torch.manual_seed(1)
    expected = []
    for i, batch in enumerate(_loader(_data())):
        loss = plain.training_step(batch, i)
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.detach())
    assert len(losses) == STEPS and all(torch.equal(a, b) for a, b in zip(losses, expected))
    _same_weights(model, plain)


def test_lean_gan_steps_equal_a_plain_loop_bit_for_bit(tmp_path: Path) -> None:
    model = _gan()
    plain = copy.deepcopy(model)
    losses, trainer = _fit(tmp_path, model)
    assert trainer.global_step == 2 * STEPS  # a D and a G step per batch, as Lightning counts them
    opt_g, opt_d = plain.configure_optimizers()
    torch.manual_seed(1)
    expected = []
    for batch in _loader(_data()):
        d_loss = plain.discriminator_step(batch[0])["loss"]
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = plain.generator_step(batch[0].shape[0])["loss"]
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        expected.append(d_loss.detach() + g_loss.detach())
    assert all(torch.equal(a, b) for a, b in zip(losses, expected))
    _same_weights(model, plain)


@pytest.mark.parametrize("make", [_vae, _gan], ids=["automatic", "manual"])
def test_lean_path_equals_lightnings_with_clipping_and_accumulation(tmp_path: Path, make: Any) -> None:
    options = {} if make is _gan else {"gradient_clip_val": 0.05, "accumulate_grad_batches": 2}
    lean_model, stock_model = make(), make()
    lean_losses, lean_trainer = _fit(tmp_path / "lean", lean_model, **options)
    stock_losses, stock_trainer = _fit(tmp_path / "stock", stock_model, lean_steps=False, **options)
    assert lean.lean_plan(stock_trainer) is None and lean.lean_plan(lean_trainer) is not None
    assert lean_trainer.global_step == stock_trainer.global_step
    assert all(torch.equal(a, b) for a, b in zip(lean_losses, stock_losses))
    _same_weights(lean_model, stock_model)
    lean_state = lean_trainer.fit_loop.state_dict()
    assert lean_state == stock_trainer.fit_loop.state_dict()  # what a checkpoint stores of the loops


class _Hooks(L.Callback):
    """Counts the optimisation hooks it overrides."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {"on_after_backward": 0, "on_before_optimizer_step": 0}

    def on_after_backward(self, trainer: Any, pl_module: Any) -> None:
        self.calls["on_after_backward"] += 1

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        self.calls["on_before_optimizer_step"] += 1


@pytest.mark.parametrize("make", [_vae, _gan], ids=["automatic", "manual"])
def test_overridden_hooks_still_run_on_the_lean_path(tmp_path: Path, make: Any) -> None:
    hooks = _Hooks()
    _, trainer = _fit(tmp_path, make(), callbacks=[hooks])
    plan = lean.lean_plan(trainer)
    assert plan is not None and plan.callback_hooks == {"on_after_backward", "on_before_optimizer_step"}
    steps = trainer.global_step
    assert hooks.calls == {"on_after_backward": steps, "on_before_optimizer_step": steps}


def test_a_profiler_other_than_the_default_keeps_lightnings_path(tmp_path: Path) -> None:
    lean_model, stock_model = _vae(), _vae()
    lean_losses, lean_trainer = _fit(tmp_path / "lean", lean_model)
    losses, trainer = _fit(tmp_path / "profiled", stock_model, profiler=SimpleProfiler())
    assert lean.lean_plan(trainer) is None
    assert all(torch.equal(a, b) for a, b in zip(losses, lean_losses))
    precision = lean_trainer.precision_plugin
    lean_trainer.strategy.precision_plugin = MixedPrecision("16-mixed", "cpu", torch.amp.GradScaler("cpu"))
    assert lean.lean_plan(lean_trainer) is None  # a grad scaler: Lightning's path
    lean_trainer.strategy.precision_plugin = precision
    assert lean.lean_plan(lean_trainer) is not None

"""The run options of every genexp model (``channels_last``, ``compile``; top-level keys of
configs/train.yaml, applied by :class:`genexp.models.base.GenerativeModule`): they change how the
nets run, not what they compute."""

from __future__ import annotations

import copy
import functools
import shutil
from pathlib import Path

import pytest
import torch
from helpers.configs import compose_train
from helpers.trainers import bare_trainer
from torch.utils.data import DataLoader, TensorDataset

from genexp.models.base import GenerativeModule
from genexp.models.vae import VAE
from genexp.nets.factory import data_to_vector, vector_to_data
from genexp.run_record import RunRecord
from genexp.train import build_run

SHAPE = (3, 16, 16)


def conv_vae() -> VAE:
    """A small conv VAE on 16 px RGB images (batch-normed conv encoder and decoder)."""
    torch.manual_seed(0)
    return VAE(
        SHAPE,
        functools.partial(data_to_vector, arch="conv", channels=(8, 16)),
        functools.partial(vector_to_data, arch="conv", channels=(16, 8)),
        functools.partial(torch.optim.Adam, lr=1e-3),
        latent_dim=4,
        value_range=(-1.0, 1.0),
    )


def mlp_vae() -> VAE:
    """A small MLP VAE on 8x8 gray images."""
    torch.manual_seed(0)
    return VAE(
        (1, 8, 8),
        functools.partial(data_to_vector, arch="mlp", hidden=(32,)),
        functools.partial(vector_to_data, arch="mlp", hidden=(32,)),
        functools.partial(torch.optim.Adam, lr=1e-3),
        latent_dim=4,
        value_range=(0.0, 1.0),
    )


def one_step(model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss of one batch (fixed noise) and its gradient, all parameters in one vector.

    The gradient rather than Adam's update, compared as one vector: a conv bias before BatchNorm
    has a zero gradient up to rounding, which Adam's first step (lr * sign) and a per-element
    tolerance would both turn into a spurious difference."""
    model.zero_grad()
    torch.manual_seed(1)
    loss = model.losses(x)["loss"]
    loss.backward()
    return loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters()])


def assert_same_step(
    a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor], tol: float
) -> None:
    """Equal losses, and gradients equal up to ``tol`` relative to the gradient's norm."""
    torch.testing.assert_close(a[0], b[0], atol=tol, rtol=tol)
    assert torch.linalg.vector_norm(a[1] - b[1]) <= tol * torch.linalg.vector_norm(b[1])


def test_channels_last_gives_the_contiguous_models_outputs_and_step() -> None:
    eager, fast = conv_vae(), conv_vae()
    fast.set_run_options(channels_last=True)
    fast.configure_model()
    conv_weights = [p for p in fast.parameters() if p.dim() == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    assert not conv_weights[0].is_contiguous()  # really another layout (C > 1, kernel > 1)
    x = torch.rand(6, *SHAPE) * 2 - 1
    (xb, yb) = fast.transfer_batch_to_device((x, torch.zeros(6)), torch.device("cpu"), 0)
    assert xb.is_contiguous(memory_format=torch.channels_last) and torch.equal(xb, x)
    with torch.no_grad():
        torch.testing.assert_close(fast.reconstruct(xb), eager.reconstruct(x), atol=1e-5, rtol=1e-5)
    assert_same_step(one_step(fast, xb), one_step(eager, x), 1e-5)


def test_the_run_options_reach_the_model_and_are_off_by_default(tmp_path: Path, monkeypatch) -> None:
    def built(*overrides: str) -> GenerativeModule:
        cfg = compose_train(["model=vae", "dataset=digits", "logger=none", *overrides], tmp_path)
        return build_run(cfg, RunRecord(tmp_path / "run"), groups=(), with_loggers=False)[1]

    plain = built()
    assert (plain.compile_nets, plain.channels_last) == (False, False)
    model = built("compile=true", "channels_last=true")
    assert (model.compile_nets, model.channels_last) == (True, True)
    compiled: list[torch.nn.Module] = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(self))
    model.configure_model()
    model.configure_model()  # Lightning calls it before every fit and test: compiled once
    assert compiled == [model.encoder, model.decoder]  # the nets (the prior has no parameters)
    assert list(model.state_dict()) == list(plain.state_dict())  # checkpoints load either way


def test_a_channels_last_fit_takes_the_steps_of_a_contiguous_fit(tmp_path: Path) -> None:
    """Through Lightning's hooks: batches arrive channels-last and the step losses are the same."""
    data = DataLoader(TensorDataset(torch.rand(24, *SHAPE) * 2 - 1, torch.zeros(24)), batch_size=6)

    def fit(channels_last: bool) -> tuple[list[float], set[bool]]:
        model, losses, layouts = conv_vae(), [], set()
        model.set_run_options(channels_last=channels_last)
        model.encoder.register_forward_pre_hook(
            lambda m, args: layouts.add(args[0].is_contiguous(memory_format=torch.channels_last))
        )
        model.log_train_step = lambda values: losses.append(float(values["train/loss"]))
        torch.manual_seed(2)
        bare_trainer(tmp_path, max_steps=3).fit(model, train_dataloaders=data)
        return losses, layouts

    (plain, plain_layout), (fast, fast_layout) = fit(False), fit(True)
    assert plain_layout == {False} and fast_layout == {True} and len(plain) == 3
    assert fast == pytest.approx(plain, rel=1e-5, abs=1e-5)


def _compile_works() -> str:
    """Empty if torch.compile (inductor, with its C++ compiler on the CPU) works here, else why."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "torch.compile needs a C/C++ compiler for CPU kernels (none on PATH)"
    try:
        torch.compile(lambda t: (t * 2).sin())(torch.ones(3))
    except Exception as err:  # noqa: BLE001 - any backend failure means: cannot test here
        return f"torch.compile does not work on this machine: {type(err).__name__}: {err}"[:300]
    return ""


@pytest.mark.slow
def test_a_compiled_model_steps_like_the_eager_one() -> None:
    reason = _compile_works()
    if reason:
        pytest.skip(reason)
    eager = mlp_vae()
    compiled = copy.deepcopy(eager)
    compiled.set_run_options(compile=True)
    compiled.configure_model()
    assert compiled.encoder._compiled_call_impl is not None  # the nets run compiled
    x = torch.rand(6, 1, 8, 8)
    assert_same_step(one_step(compiled, x), one_step(eager, x), 1e-4)

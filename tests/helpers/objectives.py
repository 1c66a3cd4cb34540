"""Helpers for the model-objective tests: run a model's own training step outside a Trainer, record
what every optimiser stepped, and replay the step by hand on a copy of the model.

A test builds the model with plain SGD optimisers, takes ``ref = copy.deepcopy(model)``, runs
:class:`ManualStep` (manual optimisation) or the autoencoder's ``training_step``, then rebuilds each
stage's loss on ``ref`` from :mod:`genexp.losses` / :mod:`genexp.priors` pieces and checks it with
:func:`check_stage`, which compares the recorded gradients with the hand-built ones and applies the
same SGD update to ``ref``. At the end :func:`assert_same_params` says the two models agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import Tensor, nn

from genexp.config import CONFIG_DIR

LOG_2PI = math.log(2 * math.pi)


@dataclass
class StepRecord:
    """One ``optimizer.step()``: the optimiser's name, and per parameter its grad and learning rate."""

    name: str
    grads: dict[str, Optional[Tensor]] = field(default_factory=dict)
    lrs: dict[str, float] = field(default_factory=dict)


class ManualStep:
    """Runs a manual-optimisation model's ``training_step`` without a Trainer.

    ``model.configure_optimizers()`` supplies the optimisers (named by ``names`` in their order);
    ``optimizers()``, ``manual_backward`` and ``log_train_step`` are replaced on the instance so
    the step runs as under Lightning. Every ``step()`` is recorded in :attr:`records`; the logged
    values of the last call are in :attr:`logs`.
    """

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        self.model = model
        self.opts = model.configure_optimizers()
        if len(self.opts) != len(names):
            raise ValueError(f"{len(self.opts)} optimisers for the names {list(names)}")
        self.records: list[StepRecord] = []
        self.logs: dict[str, Any] = {}
        by_id = {id(p): n for n, p in model.named_parameters()}
        for opt, name in zip(self.opts, names):
            opt.step = self._recording(opt, name, by_id)
        model.optimizers = lambda use_pl_optimizer=True: self.opts
        model.manual_backward = lambda loss, *a, **k: loss.backward(*a, **k)
        model.log_train_step = lambda values: self.logs.update(values)

    def _recording(self, opt: torch.optim.Optimizer, name: str, by_id: dict[int, str]) -> Any:
        original = opt.step

        def step(*args: Any, **kwargs: Any) -> Any:
            rec = StepRecord(name)
            for group in opt.param_groups:
                for p in group["params"]:
                    rec.grads[by_id[id(p)]] = None if p.grad is None else p.grad.detach().clone()
                    rec.lrs[by_id[id(p)]] = float(group["lr"])
            self.records.append(rec)
            return original(*args, **kwargs)

        return step

    def __call__(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> Any:
        """One ``training_step``; returns its output."""
        self.logs = {}
        return self.model.training_step(batch, batch_idx)


def check_stage(
    records: Sequence[StepRecord],
    ref: nn.Module,
    loss_fn: Callable[[], Any],
    names: Sequence[str],
    lowers: bool = True,
    atol: float = 1e-6,
) -> dict[str, Tensor]:
    """Check one stage of a training step against its hand-built loss and replay it on ``ref``.

    ``records`` are the optimiser steps the stage made (named ``names``, in order); ``loss_fn()``
    builds the stage's loss from ``ref``'s current parameters on fixed inputs (or ``(loss, terms)``
    with its named parts). The recorded grads
    must be those of that loss (a parameter the loss does not reach has none); ``ref`` then takes
    the same SGD steps and, with ``lowers``, the rebuilt loss must be lower afterwards. Returns the
    loss (``"loss"``) and its terms before the step, detached, to compare with what the model logged.
    """
    assert [r.name for r in records] == list(names), f"steps {[r.name for r in records]}, expected {names}"
    params = dict(ref.named_parameters())
    loss, terms = _loss_and_terms(loss_fn())
    wanted = [(r, n) for r in records for n in r.grads]
    grads = torch.autograd.grad(loss, [params[n] for _, n in wanted], allow_unused=True)
    for (rec, n), expected in zip(wanted, grads):
        got = rec.grads[n]
        if expected is None or not expected.abs().any():
            assert got is None or not got.abs().any(), (
                f"{rec.name} step: {n} got a gradient the loss does not give"
            )
            continue
        assert got is not None, f"{rec.name} step: {n} has no gradient"
        torch.testing.assert_close(got, expected, atol=atol, rtol=1e-4, msg=f"{rec.name} step, {n}")
    with torch.no_grad():
        for (rec, n), g in zip(wanted, grads):
            if g is not None and rec.grads[n] is not None:
                params[n].sub_(rec.lrs[n] * g)
    if lowers:
        after = float(_loss_and_terms(loss_fn())[0].detach())
        assert after < float(loss.detach()), (
            f"the {names} step did not lower its loss: {float(loss.detach())} -> {after}"
        )
    return {"loss": loss.detach(), **{k: v.detach() for k, v in terms.items()}}


def _loss_and_terms(out: Any) -> tuple[Tensor, dict[str, Tensor]]:
    return (out[0], dict(out[1])) if isinstance(out, tuple) else (out, {})


def assert_same_params(model: nn.Module, ref: nn.Module, atol: float = 1e-6) -> None:
    """Every parameter of ``model`` equals the hand-updated one of ``ref``."""
    ref_params = dict(ref.named_parameters())
    for n, p in model.named_parameters():
        torch.testing.assert_close(p, ref_params[n], atol=atol, rtol=1e-4, msg=n)


def assert_terms_distinct(terms: dict[str, Tensor], minimum: float = 1e-2) -> None:
    """Every term is clearly non-zero and no two are equal, so a flipped sign, a dropped term or a
    weight off by a factor changes the total by more than the comparison tolerance."""
    values = {k: float(v.detach()) for k, v in terms.items()}
    for k, v in values.items():
        assert abs(v) > minimum, f"term {k} = {v} is too small to be checked"
    items = sorted(values.items(), key=lambda kv: abs(kv[1]))
    for (ka, a), (kb, b) in zip(items[:-1], items[1:]):
        assert abs(abs(a) - abs(b)) > minimum * 0.1, f"terms {ka} and {kb} have the same size"


# -- the spec's losses, written out ---------------------------------------------------------------


def d_loss(name: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's hinge or non-saturating (logistic) loss."""
    if name == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def g_loss(name: str, fake_logits: Tensor) -> Tensor:
    """The generator's hinge (-D) or non-saturating (-log sigmoid D) loss."""
    return -fake_logits.mean() if name == "hinge" else -F.logsigmoid(fake_logits).mean()


def encoder_nll(z: Tensor, mu: Tensor, logvar: Tensor, data_dim: int) -> Tensor:
    """Thesis eq. 6.1 / 7.13 per sample, averaged over the batch, divided by dim(x)."""
    per_dim = 0.5 * (LOG_2PI + logvar) + (z - mu).pow(2) / (2 * logvar.exp())
    return per_dim.sum(1).mean() / data_dim


def model_yaml(name: str) -> dict[str, Any]:
    """A shipped model YAML's values, with its ``defaults`` parent (one) merged in."""
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / f"{name}.yaml"))
    parents = [d for d in cfg.pop("defaults", []) if d != "_self_"]
    return {**(model_yaml(parents[0]) if parents else {}), **cfg}

"""A genexp module stepped by hand: the "plain" side of the framework-overhead benchmarks.

The module's own ``training_step`` runs over its datamodule's batches with torch optimizers and
``loss.backward()``, and no Lightning loop, logger or callback around it, so a paired genexp run of
the same config differs from it only in the framework (``bench_mpcc.py --paired``,
``bench_pgmgan.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(overrides: list[str], output_dir: str = "/tmp/genexp_bench_by_hand") -> tuple[Any, Any]:
    """(datamodule, model) of ``train.yaml`` composed with ``overrides`` (not set up yet)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate
    from omegaconf import OmegaConf, open_dict

    from genexp.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = output_dir
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.resolve(job)
    return instantiate(job.dataset), instantiate(job.model)


def step_by_hand(model: Any, dm: Any, done: Callable[[int], bool]) -> tuple[float, int]:
    """Run a manual-optimisation ``model``'s ``training_step`` over ``dm``'s training batches until
    ``done(optimizer steps)``; returns (seconds from the first batch, optimizer steps). ``dm`` must
    be set up."""
    opts = model.configure_optimizers()
    opts = opts if isinstance(opts, (list, tuple)) else [opts]
    steps = 0

    def counted(step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            nonlocal steps
            steps += 1
            return step(*args, **kwargs)

        return run

    for opt in opts:
        opt.step = counted(opt.step)
    model.optimizers = lambda use_pl_optimizer=True: opts  # what the module's step asks Lightning for
    model.manual_backward = lambda loss, *a, **k: loss.backward(*a, **k)
    model.lean_steps = False  # the lean path needs a trainer; by hand it is zero_grad/backward/step
    model.train()
    start = None
    while not done(steps):
        for batch_idx, batch in enumerate(dm.train_dataloader()):
            start = time.perf_counter() if start is None else start
            model.training_step(batch, batch_idx)
            if done(steps):
                break
    return time.perf_counter() - (start or time.perf_counter()), steps

"""VaDE's step times on this CPU, extrapolated to one epoch of the 70k MNIST images.

Builds the model of an experiment config (default ``experiment=vade_mnist_cpu``), times ``--steps``
optimizer steps of the pretraining loss and of the joint -ELBO on batches of the config's batch size
(after 5 warm-up steps; random inputs: the MLP's cost does not depend on the pixels), and reports
process CPU and wall milliseconds per step and seconds per 70k-image epoch, for each ``--threads``
value. On a shared machine the CPU time is what this process got; the wall time also counts the
others (the report records the load average).

    python scripts/bench_vade.py --steps 200 --threads 1 2 [override ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mpcc import build  # noqa: E402  (the same config building)

EPOCH_IMAGES = 70_000
WARMUP = 5


def time_steps(loss_fn, optimizer, x, steps: int) -> tuple[float, float]:
    """(CPU s, wall s) of ``steps`` optimizer steps on ``loss_fn(x)`` after the warm-up."""
    for i in range(WARMUP + steps):
        if i == WARMUP:
            cpu0, wall0 = time.process_time(), time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(x).backward()
        optimizer.step()
    return time.process_time() - cpu0, time.perf_counter() - wall0


def run(threads: int, steps: int, overrides: list[str]) -> dict:
    """The timings of both losses with ``threads`` torch threads."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dm, model = build(overrides)
    low, high = dm.value_range
    x = low + (high - low) * torch.rand(dm.batch_size, *dm.shape)
    optimizer = model.optimizer_factory(params=list(model.parameters()))
    out: dict = {"threads": threads, "batch_size": dm.batch_size, "steps": steps}
    for name, fn in (("pretrain", model.pretrain_loss), ("joint", lambda b: model.losses(b)["loss"])):
        cpu, wall = time_steps(fn, optimizer, x, steps)
        per_epoch = EPOCH_IMAGES / dm.batch_size / steps
        out[name] = {
            "cpu_ms_per_step": round(1000 * cpu / steps, 1),
            "wall_ms_per_step": round(1000 * wall / steps, 1),
            "cpu_s_per_epoch": round(cpu * per_epoch, 1),
            "wall_s_per_epoch": round(wall * per_epoch, 1),
        }
    return out


def main() -> int:
    """Command-line entry point."""
    os.environ.setdefault("WANDB_MODE", "disabled")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument("overrides", nargs="*", help="config overrides (default experiment=vade_mnist_cpu)")
    args = parser.parse_args()
    overrides = ["experiment=vade_mnist_cpu", "logger=none", "callbacks=none", "metric=none"]
    overrides.append("~model._smoke_")  # a config key, not a constructor argument
    result = {
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "runs": [run(t, args.steps, [*overrides, *args.overrides]) for t in args.threads],
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""MPCC's training iteration on this CPU: iterations per CPU second (and per wall second).

Builds the model and data of an experiment config (default ``experiment=mpcc_mnist_cpu``: the
thesis' ResNet nets at width 16 on 16x16 MNIST, batch 50, D_steps = E_steps = 4), trains
``--iterations`` iterations through a Lightning Trainer without logger, checkpoints or progress bar
(the training loop only), and reports the process CPU
time per iteration: on a shared machine the CPU time is what this process got, the wall time also
counts the other processes. ``--profile cumtime|tottime`` prints a cProfile table.
``--compare N`` alternates N times between the loop before the overhead work (per-tensor Adam,
real and fake batches through D in two forwards) and the current one, in this one process.

``--paired N`` is genexp's overhead on this iteration (as ``bench_pgmgan.py`` for PGMGAN 2-D): N
repeats, alternating, of a plain PyTorch loop and of genexp's CLI code path with its default logger
(wandb, offline) and callbacks. The plain loop steps the same module by hand (its own
``training_step`` over the datamodule's batches, torch optimizers and ``loss.backward()``, no
Lightning), so the two differ only in the framework around the step; both time the training loop
from the first batch to the end of the last iteration, and the figure is genexp's wall time per
optimizer step over the plain loop's, median and spread over the repeats.

    python scripts/bench_mpcc.py --iterations 300 [--profile tottime] [--compare 2] [override ...]
    python scripts/bench_mpcc.py --iterations 60 --paired 3
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench_by_hand import build, step_by_hand  # noqa: E402


def run(iterations: int, overrides: list[str], profile: str | None, before: bool = False) -> dict:
    """Train ``iterations`` iterations; return the timings. ``before``: the loop before the overhead
    work (Adam's per-tensor loop instead of the fused kernel, D called twice per D step)."""
    import lightning as L
    import torch

    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
    if before:
        overrides = [*overrides, "model.g_optimizer.fused=false"]
    dm, model = build(overrides, "/tmp/genexp_bench_mpcc")
    dm.setup()
    if before:
        model.concat_critic = False
    model.max_iterations = iterations
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    prof = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    trainer.fit(model, datamodule=dm)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if prof:
        pstats.Stats(prof).sort_stats(profile).print_stats(35)
    return {
        "iterations": model.iteration,
        "optimizer_steps": trainer.global_step,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "it_per_cpu_s": round(model.iteration / cpu, 2),
        "it_per_wall_s": round(model.iteration / wall, 2),
        "overrides": overrides,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def run_plain(iterations: int, overrides: list[str]) -> tuple[float, int]:
    """``iterations`` MPCC iterations stepped by hand; returns (seconds, optimizer steps)."""
    import lightning as L

    L.seed_everything(0, verbose=False)
    dm, model = build(overrides, "/tmp/genexp_bench_mpcc")
    dm.setup()
    model.max_iterations = iterations
    return step_by_hand(model, dm, lambda steps: model.iteration >= iterations)


def paired(iterations: int, repeats: int, overrides: list[str]) -> dict[str, Any]:
    """Alternate the plain loop and genexp's CLI path (default logger and callbacks)."""
    import tempfile

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_overhead import alternate, print_table, ratio_summary, run_genexp, setup_process

    setup_process()
    genexp_overrides = [
        *overrides,
        f"model.max_iterations={iterations}",
        "metric=none",
        "~metric.clustering",  # the experiment's settings of the metrics it adds
        "~metric.clustering_curve",
        "test_after_fit=false",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        sides = {
            "plain": lambda: run_plain(
                iterations, [*overrides, "logger=none", "callbacks=none", "metric=none"]
            ),
            "genexp": lambda: run_genexp(0, Path(tmp), genexp_overrides),
        }
        summary = ratio_summary(alternate(sides, repeats))
    print_table(summary)
    return {"iterations": iterations, "overrides": overrides, "sides": summary}


def main() -> int:
    """Command-line entry point."""
    os.environ.setdefault("WANDB_MODE", "disabled")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--profile", choices=["cumtime", "tottime"], default=None)
    parser.add_argument("--compare", type=int, default=0, help="alternate before/after this many times")
    parser.add_argument("--paired", type=int, default=0, help="alternate plain loop / genexp this many times")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument("overrides", nargs="*", help="config overrides (default experiment=mpcc_mnist_cpu)")
    args = parser.parse_args()
    overrides = ["experiment=mpcc_mnist_cpu", "logger=none", "callbacks=none", "metric=none", *args.overrides]
    if args.paired:
        result = paired(args.iterations, args.paired, ["experiment=mpcc_mnist_cpu", *args.overrides])
    elif args.compare:
        rates: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.compare):
            for name in rates:
                timing = run(args.iterations, overrides, None, before=name == "before")
                rates[name].append(timing["it_per_cpu_s"])
        result = {k: {"it_per_cpu_s": v, "mean": round(sum(v) / len(v), 2)} for k, v in rates.items()}
        result["speedup"] = round(result["after"]["mean"] / result["before"]["mean"], 3)
    else:
        result = run(args.iterations, overrides, args.profile)
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

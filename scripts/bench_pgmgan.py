"""Steps/s of a genexp PGMGAN 2-D toy run against the same step as a plain PyTorch loop.

Three sides train PGMGAN's toy setting (experiment=pgm_grid25: conditional MLP G 4x128 with
BatchNorm, Maxout D 3x128x5, frozen Linear(2, 25) partitioner, guide, batch 100, 1:1, Adam 5e-4)
for the same number of iterations, in this one process, their order rotated from repeat to repeat
so machine noise hits all alike:

- ``plain``: a hand-written PyTorch loop on the same genexp nets (the model's arithmetic only);
- ``module by hand``: genexp's own PGMGAN module of the same config, its ``training_step`` over its
  datamodule's batches with torch optimizers and no Lightning (scripts/bench_by_hand.py): the
  model's code without the framework;
- ``genexp``: the CLI's code path with its default logger (wandb, offline) and default callbacks
  (checkpoints, sample figures, NaN guard, progress bar).

Only the training loop is timed (genexp's ``train_loop_s``, which includes its validation; the
partitioner stage and end-of-run metrics are excluded). genexp / module by hand is the framework's
cost; module by hand / plain is what the model's own code adds to the arithmetic.

    python scripts/bench_pgmgan.py [--iters 3000] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_by_hand import build, step_by_hand  # noqa: E402
from bench_overhead import alternate, print_table, ratio_summary, run_genexp, setup_process  # noqa: E402

from genexp.data.toy_distributions import grid25  # noqa: E402
from genexp.losses.guide import annealed_weight, guide_distance  # noqa: E402
from genexp.models.components.partitioner import KMeansPartitioner  # noqa: E402
from genexp.nets.pgmgan_conditional import ConditionalMLP  # noqa: E402
from genexp.nets.pgmgan_maxout import MaxoutMLP  # noqa: E402

K, WIDTH, BATCH, LR, BETAS = 25, 128, 100, 5e-4, (0.8, 0.999)


def run_plain(x_train: torch.Tensor, iters: int) -> tuple[float, int]:
    """PGMGAN's toy step in a bare loop; returns (seconds, optimizer steps)."""
    torch.manual_seed(0)
    part = KMeansPartitioner((2,), K)
    part.fit(x_train, seed=0)
    for p in part.parameters():
        p.requires_grad_(False)
    g = ConditionalMLP(2, (2,), K, hidden=[WIDTH] * 4)
    d = MaxoutMLP((2,), 1, hidden=[WIDTH] * 3, pieces=5, num_classes=K)
    opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
    n_batches = len(x_train) // BATCH
    start = time.perf_counter()
    it = 0
    while it < iters:
        perm = torch.randperm(len(x_train))
        for b in range(n_batches):
            if it == iters:
                break
            real = x_train[perm[b * BATCH : (b + 1) * BATCH]]
            with torch.no_grad():
                y = part(real).argmax(1)
                fake = g(torch.randn(BATCH, 2), y)
            d_loss = F.softplus(-d(real, y)).mean() + F.softplus(d(fake, y)).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            fake = g(torch.randn(BATCH, 2), y)
            lam = annealed_weight(it, 6.0, iters)
            g_loss = F.softplus(-d(fake, y)).mean() + lam * guide_distance(part(fake), y).mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            it += 1
    return time.perf_counter() - start, 2 * iters


def run_module_by_hand(x_train: torch.Tensor, iters: int, overrides: list[str]) -> tuple[float, int]:
    """genexp's own PGMGAN module (the same config as the genexp side) stepped by hand: its
    ``training_step`` over its datamodule's batches, no Lightning; returns (seconds, optimizer steps)."""
    torch.manual_seed(0)
    dm, model = build([*overrides, "logger=none", "callbacks=none"], "/tmp/genexp_bench_pgmgan")
    dm.setup()
    model.prepare_partitioner(x_train[:10_000])  # the partitioner stage, outside the timed loop
    return step_by_hand(model, dm, lambda steps: steps >= 2 * iters)


def main() -> None:
    """Alternate the two runs; print the time-per-step ratio (median and spread over repeats)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--iters", type=int, default=3000, help="G/D iterations per run (2 optimizer steps each)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    setup_process()
    x_train = grid25().sample(100_000, torch.Generator().manual_seed(0))
    overrides = [
        "experiment=pgm_grid25",
        f"trainer.max_steps={2 * args.iters}",
        f"model.guide_anneal_steps={args.iters}",
        "metric=none",
        "~metric.toy2d",  # the experiment's setting of the metric it adds
        "test_after_fit=false",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        sides = {
            "plain": lambda: run_plain(x_train, args.iters),
            "module by hand": lambda: run_module_by_hand(x_train, args.iters, overrides),
            "genexp": lambda: run_genexp(0, Path(tmp), overrides),
        }
        summary = ratio_summary(alternate(sides, args.repeats))
    print_table(summary)
    result = {"threads": torch.get_num_threads(), "iters": args.iters, "sides": summary}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""PGM-1's 2-D metrics of finished PGMGAN runs with G's BatchNorm on running statistics (``eval``,
the official sampling) and on each sampling batch's statistics (``train``), from the same
checkpoint and the same draws (issue 13):

    python scripts/pgmgan_bn_modes.py outputs/reproduce/pgmgan_toy/pgmgan_ring8/seed*

Prints a markdown table (modes, HQ %, reverse KL, per run and mode) on ``--n`` samples drawn as the
run's own evaluation does (y ~ pi, rejection sampling in eval mode), in chunks of ``--batch``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from hydra.utils import instantiate

from genexp.config import load_run_config, register_resolvers
from genexp.data.toy_distributions import make_distribution
from genexp.metrics.toy2d import mode_metrics


def bn_mode_metrics(run_dir: Path, n: int, batch: int, seed: int) -> dict[str, dict[str, float]]:
    """Mode -> modes / hq_pct / reverse_kl of ``n`` samples of the run's last checkpoint."""
    cfg = load_run_config(run_dir)
    model = instantiate(cfg.model)
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    dist = make_distribution(cfg.dataset.distribution, **(cfg.dataset.get("params") or {}))
    out = {}
    for mode in ("eval", "train"):
        model.sample_bn = mode
        torch.manual_seed(seed)
        with torch.no_grad():
            x = torch.cat([model.sample(min(batch, n - i)) for i in range(0, n, batch)])
        m = mode_metrics(x, dist.means, dist.sigma)
        out[mode] = {k: float(m[k]) for k in ("modes", "hq_pct", "reverse_kl")}
    return out


def main() -> None:
    """Parse the run folders and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="PGMGAN run folders (with checkpoints/last.ckpt)")
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=10_000, help="the metric callback's chunk size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    register_resolvers()
    print("| run | sample_bn | modes | HQ % | reverse KL |\n|---|---|---|---|---|")
    for run in args.runs:
        for mode, m in bn_mode_metrics(run, args.n, args.batch, args.seed).items():
            print(
                f"| {run} | {mode} | {m['modes']:.0f} | {m['hq_pct']:.2f} | {m['reverse_kl']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

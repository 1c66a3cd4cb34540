"""Measured checks behind the GEN/GTN rows of docs/results.md that need no training run.

    python scripts/gen_gtn_checks.py bandwidth    # GEN-1: h_opt(l, m) for N(0, I) vs paper Table 1
    python scripts/gen_gtn_checks.py bandwidth --trials 10 --se 0.01 --max-trials 400
                                                  # (the default: >= 10 draws per cell, more until
                                                  # the standard error of the mean is < 0.01)
    python scripts/gen_gtn_checks.py entropy      # GEN-2: whitened LOO entropy of N(0, I_8) vs Table 2
    python scripts/gen_gtn_checks.py pairing      # GTN pairing wall time, 70k points, d = 2, 5, 20, 100

Each prints a markdown table and writes outputs/gen_gtn/<name>.json. One CPU thread.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

OUT = Path(__file__).resolve().parent.parent / "outputs" / "gen_gtn"

PAPER_H = {
    (2, 250): 0.46,
    (2, 1000): 0.38,
    (2, 4000): 0.31,
    (5, 250): 0.65,
    (5, 1000): 0.55,
    (5, 4000): 0.47,
    (10, 250): 0.77,
    (10, 1000): 0.69,
    (10, 4000): 0.63,
    (20, 250): 0.92,
    (20, 1000): 0.86,
    (20, 4000): 0.80,
}
PAPER_H_ENTROPY = {1000: 11.668, 2000: 11.621, 5000: 11.575}


def _save(name: str, rows: list[dict]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(rows, indent=1))


def trials_for_se(
    draw: Callable[[int], list[float]], min_trials: int, se: float, max_trials: int
) -> list[float]:
    """At least ``min_trials`` values of ``draw(k)`` (k more per call), then more until the standard
    error of their mean, stdev / sqrt(n), is below ``se`` or ``max_trials`` are drawn. Each extra
    round asks for the count the current stdev predicts (at least 1)."""
    values = draw(max(2, min_trials))
    while len(values) < max_trials:
        sd = statistics.stdev(values)
        if sd / math.sqrt(len(values)) < se:
            break
        want = min(max_trials, math.ceil((sd / se) ** 2) + 1)
        values += draw(max(1, want - len(values)))
    return values


def bandwidth(min_trials: int, se: float, max_trials: int) -> None:
    """GEN-1: h_opt per (l, m), mean ± std and its standard error over at least ``min_trials``
    draws (more until the standard error is below ``se``), against the paper."""
    from genexp.losses.kde import optimal_bandwidth
    from genexp.priors.normal import NormalPrior

    rows = []
    print(
        "| l | m | paper h | ours (mean ± std) | SE | draws | abs diff | within 0.03 | s/draw |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    for (dim, m), paper in PAPER_H.items():
        prior = NormalPrior(dim)

        def draw(k: int, p: NormalPrior = prior, size: int = m) -> list[float]:
            return optimal_bandwidth(lambda n: p.sample(n).double(), p.log_prob, size, trials=k)[1]

        start = time.time()
        hs = trials_for_se(draw, min_trials, se, max_trials)
        per_draw = (time.time() - start) / len(hs)
        h, sd = statistics.fmean(hs), statistics.stdev(hs)
        err = sd / math.sqrt(len(hs))
        rows.append(
            {
                "l": dim,
                "m": m,
                "paper": paper,
                "h": h,
                "std": sd,
                "se": err,
                "seconds_per_draw": per_draw,
                "trials": hs,
            }
        )
        print(
            f"| {dim} | {m} | {paper:.2f} | {h:.3f} ± {sd:.3f} | {err:.4f} | {len(hs)} "
            f"| {abs(h - paper):.3f} | {abs(h - paper) <= 0.03} | {per_draw:.1f} |",
            flush=True,
        )
    worst = max(r["se"] for r in rows)
    print(
        f"\nlargest standard error {worst:.4f} (target < {se}); {sum(len(r['trials']) for r in rows)} draws"
    )
    _save("bandwidth", rows)


def entropy(trials: int) -> None:
    """GEN-2: the estimator on N(0, I_8) samples of 1000/2000/5000, against Table 2's last row."""
    from genexp.metrics.entropy import whitened_entropy

    rows = []
    print("| samples | paper | ours (mean ± std) | abs diff | within 0.1 |\n|---|---|---|---|---|")
    for n, paper in PAPER_H_ENTROPY.items():
        values = [whitened_entropy(torch.randn(n, 8, dtype=torch.float64))[0] for _ in range(trials)]
        mean = statistics.mean(values)
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append({"n": n, "paper": paper, "mean": mean, "std": sd, "values": values})
        print(
            f"| {n} | {paper:.3f} | {mean:.3f} ± {sd:.3f} | {abs(mean - paper):.3f} "
            f"| {abs(mean - paper) <= 0.1} |",
            flush=True,
        )
    _save("entropy", rows)


def pairing(n: int, dims: list[int], tie_tols: list[float]) -> None:
    """Wall time of the GTN pairing for ``n`` points (data: Gaussian directions, uniform radii)."""
    from genexp.models.components.gtn_pairing import pair, pairing_stats

    rows = []
    print("| n | d | tie_tol | seconds | spearman(norms) | mean cosine |\n|---|---|---|---|---|---|")
    for dim in dims:
        for tau in tie_tols:
            gen = torch.Generator().manual_seed(dim)
            x = torch.randn(n, dim, generator=gen) * torch.rand(n, 1, generator=gen)
            y = torch.randn(n, dim, generator=gen)
            t = time.time()
            match = pair(y, x, tau)
            sec = time.time() - t
            assert len(torch.unique(match)) == n
            st = pairing_stats(y, x[match])
            rows.append({"n": n, "d": dim, "tie_tol": tau, "seconds": sec, **st})
            print(
                f"| {n} | {dim} | {tau} | {sec:.1f} | {st['spearman_norms']:.3f} | {st['mean_cosine']:.3f} |",
                flush=True,
            )
    _save(f"pairing_{n}", rows)


def main() -> None:
    """Parse the command and run it on one thread."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("check", choices=["bandwidth", "entropy", "pairing"])
    parser.add_argument(
        "--trials", type=int, default=None, help="draws per cell (bandwidth: the minimum, 10)"
    )
    parser.add_argument(
        "--se", type=float, default=0.01, help="bandwidth: draw until the SE of h is below this"
    )
    parser.add_argument(
        "--max-trials", type=int, default=400, help="bandwidth: at most this many draws per cell"
    )
    parser.add_argument("--n", type=int, default=70000)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 5, 20, 100])
    parser.add_argument("--tie-tols", type=float, nargs="+", default=[0.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    if args.check == "bandwidth":
        bandwidth(args.trials or 10, args.se, args.max_trials)
    elif args.check == "entropy":
        entropy(args.trials or 3)
    else:
        pairing(args.n, args.dims, args.tie_tols)


if __name__ == "__main__":
    main()

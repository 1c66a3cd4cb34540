"""Run a named group of experiment configs over seeds and regenerate its table in docs/results.md.

    python scripts/reproduce.py thesis_ch6                 # the full group, seeds 0 1 2
    python scripts/reproduce.py thesis_ch6 --quick         # minutes: a subset, 1 seed, 2 epochs
    python scripts/reproduce.py thesis_ch6 --seeds 0 1 2 --only "WVAE b=1" "VAE b=1"
    python scripts/reproduce.py --list

Each run is ``python -m genexp experiment=<e> model=<m> <overrides> seed=<s>`` in its own folder
``outputs/reproduce/<group>[-quick]/<run>/seed<s>`` (a folder that already has metrics.json is
reused unless ``--force``). The table (mean ± std over seeds, next to the paper's numbers) and
the group's claims go between ``<!-- <group>:begin -->`` and ``<!-- <group>:end -->`` in
docs/results.md; a quick run writes ``outputs/reproduce/<group>-quick/results.md`` instead.

Adding a group: one ``Group`` entry in ``GROUPS`` (runs, columns, paper values, claims).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "results.md"
OUT = ROOT / "outputs" / "reproduce"

Means = dict[str, dict[str, float]]  # run label -> metric key -> mean over seeds


@dataclass
class Run:
    """One row: a model config and overrides, plus the paper's numbers (column key -> text)."""

    label: str
    model: str
    overrides: dict[str, Any] = field(default_factory=dict)
    paper: dict[str, str] = field(default_factory=dict)
    quick: bool = False  # part of the --quick subset


@dataclass
class Column:
    """A table column: header, metrics.json key (without ``test/``), scale, decimals."""

    header: str
    key: str
    scale: float = 1.0
    digits: int = 2


@dataclass
class Claim:
    """A checkable statement: ``check(means)`` returns (holds, the numbers behind it)."""

    cid: str
    text: str
    needs: tuple[str, ...]
    check: Callable[[Means], tuple[bool, str]]


@dataclass
class Group:
    """A reproduction: one experiment config, its runs, table columns and claims."""

    title: str
    experiment: str
    runs: list[Run]
    columns: list[Column]
    claims: list[Claim] = field(default_factory=list)
    quick_overrides: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


# ------------------------------------------------------------------------------------------------
# thesis ch. 6 (Table 6.4; spec thesis.md §P1 claims C1-C5)

CH6_COLUMNS = [
    Column("LL in X", "log_mse_x"),
    Column("LL in Z", "log_mse_z"),
    Column("D_KL^Z", "kl_z"),
    Column("D_KL^VAE", "kl_vae"),
    Column("Ĩ_q", "mi_q"),
    Column("h_q(z|x)", "h_q_zx"),
    Column("IS (clf)", "is_classifier"),
    Column("FD (clf)", "fd_classifier", digits=1),
    Column("Acc %", "linear_probe_acc", scale=100.0),
]

# Table 6.4 of the thesis (MNIST, J = 10, 3 runs), in CH6_COLUMNS order (spec thesis.md §R).
THESIS_TABLE_6_4 = """
VAE β=0.33       | −4.57±0.02 | −3.73±0.12 | 0.10±0.03  | 27.76±0.18 | 27.68±0.15  | −13.44±0.07 | 8.95±0.01 | 223.76±8.52    | 91.37±0.73
VAE β=1          | −4.43±0.02 | −3.62±0.08 | 0.19±0.09  | 20.94±0.21 | 20.72±0.21  | −6.89±0.14  | 9.36±0.02 | 105.89±2.75    | 87.86±0.60
VAE β=30 (β-VAE) | −1.90±0.01 | −0.34±0.01 | 34.52±1.15 | 1.18±0.05  | −33.32±1.17 | 12.98±0.01  | 3.03±0.07 | 4714.07±75.28  | 56.06±1.50
WVAE β=0.33      | −4.66±0.02 | −3.51±0.06 | 0.03±0.00  | 62.26±0.52 | 62.28±0.52  | −48.14±0.52 | 8.59±0.04 | 351.22±5.04    | 93.63±0.47
WVAE β=1         | −4.64±0.03 | −3.50±0.03 | 0.16±0.06  | 62.69±0.26 | 62.72±0.25  | −48.88±0.32 | 8.62±0.03 | 342.92±13.82   | 94.00±0.13
WVAE β=30        | −4.61±0.01 | −3.09±0.01 | 0.14±0.01  | 62.70±0.33 | 62.71±0.33  | −48.86±0.34 | 8.19±0.13 | 518.53±30.97   | 93.50±0.28
MMD β=0.33       | −4.71±0.04 | −0.74±0.02 | 2.01±0.02  | 85.04±1.21 | 65.82±0.35  | −43.40±0.33 | 6.45±0.14 | 1483.71±103.37 | 94.86±0.02
MMD β=1          | −4.68±0.01 | −1.28±0.07 | 1.73±0.02  | 74.43±0.74 | 64.97±0.29  | −44.60±0.40 | 6.76±0.33 | 1151.08±135.75 | 94.45±0.24
MMD β=30         | −4.67±0.01 | −3.50±0.12 | 0.37±0.03  | 63.80±0.50 | 63.44±0.53  | −48.89±0.40 | 8.27±0.08 | 461.61±20.17   | 93.86±0.57
JS-VAE β=0.33    | −4.59±0.02 | −3.31±0.18 | 0.12±0.02  | 61.58±0.47 | 61.58±0.46  | −47.09±0.43 | 8.43±0.02 | 436.72±5.33    | 93.86±0.04
JS-VAE β=1       | −4.56±0.02 | −3.27±0.07 | 0.01±0.00  | 61.64±0.56 | 61.67±0.56  | −47.45±0.58 | 8.49±0.09 | 403.08±18.21   | 92.68±0.41
JS-VAE β=30      | −3.49±0.64 | −1.89±0.71 | 0.07±0.02  | 67.25±6.78 | 67.26±6.78  | −52.89±6.73 | 8.07±0.03 | 815.19±213.64  | 80.32±8.62
"""  # noqa: E501


def paper_rows(table: str, columns: list[Column]) -> dict[str, dict[str, str]]:
    """Rows ``label | cell | ...`` of a copied paper table -> label -> column key -> cell text."""
    rows = {}
    for line in table.strip().splitlines():
        label, *cells = (c.strip() for c in line.split("|"))
        rows[label] = {col.key: cell for col, cell in zip(columns, cells)}
    return rows


T64 = paper_rows(THESIS_TABLE_6_4, CH6_COLUMNS)
# (label, model config, beta, in the --quick subset); the first six are what the claims need.
CH6_SPECS = [
    ("VAE β=1", "vae", 1.0, True),
    ("VAE β=30 (β-VAE)", "vae", 30.0, True),
    ("WVAE β=1", "wvae", 1.0, True),
    ("WVAE β=30", "wvae", 30.0, True),
    ("JS-VAE β=1", "jsvae", 1.0, True),
    ("MMD β=1", "mmdvae", 1.0, True),
    ("WVAE β=0.33", "wvae", 0.33, False),
    ("VAE β=0.33", "vae", 0.33, False),
    ("JS-VAE β=0.33", "jsvae", 0.33, False),
    ("JS-VAE β=30", "jsvae", 30.0, False),
    ("MMD β=0.33", "mmdvae", 0.33, False),
    ("MMD β=30", "mmdvae", 30.0, False),
]
CH6_RUNS = [Run(lab, model, {"model.beta": beta}, T64[lab], quick) for lab, model, beta, quick in CH6_SPECS]


def _acc(means: Means, label: str) -> float:
    return 100.0 * means[label]["linear_probe_acc"]


def _c1(m: Means) -> tuple[bool, str]:
    a, b = _acc(m, "WVAE β=1"), _acc(m, "VAE β=1")
    return (
        a >= b + 2.0,
        f"Acc WVAE β=1 {a:.2f} vs VAE β=1 {b:.2f} (difference {a - b:+.2f} points; needs ≥ +2)",
    )


def _c2(m: Means) -> tuple[bool, str]:
    w, v = m["WVAE β=1"], m["VAE β=1"]
    ok = w["mi_q"] > v["mi_q"] and w["h_q_zx"] < v["h_q_zx"]
    return ok, (
        f"Ĩ_q {w['mi_q']:.2f} vs {v['mi_q']:.2f}; h_q(z|x) {w['h_q_zx']:.2f} vs {v['h_q_zx']:.2f} "
        "(WVAE β=1 vs VAE β=1)"
    )


def _c3(m: Means) -> tuple[bool, str]:
    kl = m["VAE β=30 (β-VAE)"]["kl_vae"]
    drop = _acc(m, "VAE β=1") - _acc(m, "VAE β=30 (β-VAE)")
    return (
        kl < 3.0 and drop >= 15.0,
        f"D_KL^VAE(VAE β=30) {kl:.2f} nats (needs < 3); Acc drop vs β=1 {drop:.2f} points (needs ≥ 15)",
    )


def _c4(m: Means) -> tuple[bool, str]:
    v, w = m["VAE β=1"]["fd_classifier"], m["WVAE β=1"]["fd_classifier"]
    return v < w, f"FD(clf) VAE β=1 {v:.1f} vs WVAE β=1 {w:.1f}"


def _c4b(m: Means) -> tuple[bool, str]:
    w, d = m["WVAE β=1"]["fd_classifier"], m["MMD β=1"]["fd_classifier"]
    return w < d, f"FD(clf) WVAE β=1 {w:.1f} vs MMD β=1 {d:.1f}"


def _c5(m: Means) -> tuple[bool, str]:
    a, b = _acc(m, "WVAE β=1"), _acc(m, "WVAE β=30")
    return abs(
        a - b
    ) <= 2.0, f"Acc WVAE β=1 {a:.2f} vs β=30 {b:.2f} (|difference| {abs(a - b):.2f}; needs ≤ 2)"


CH6_CLAIMS = [
    Claim("C1", "representation: Acc(WVAE β=1) ≥ Acc(VAE β=1) + 2 points", ("WVAE β=1", "VAE β=1"), _c1),
    Claim(
        "C2",
        "mutual information: Ĩ_q(WVAE) > Ĩ_q(VAE) and h_q(z|x)(WVAE) < h_q(z|x)(VAE)",
        ("WVAE β=1", "VAE β=1"),
        _c2,
    ),
    Claim(
        "C3",
        "collapse: VAE β=30 has D_KL^VAE < 3 nats and Acc ≥ 15 points below β=1",
        ("VAE β=1", "VAE β=30 (β-VAE)"),
        _c3,
    ),
    Claim("C4", "trade-off: FD(clf)(VAE β=1) < FD(clf)(WVAE β=1)", ("VAE β=1", "WVAE β=1"), _c4),
    Claim("C4b", "softer: FD(clf)(WVAE β=1) < FD(clf)(MMD β=1)", ("WVAE β=1", "MMD β=1"), _c4b),
    Claim(
        "C5", "β-insensitivity: |Acc(WVAE β=1) − Acc(WVAE β=30)| ≤ 2 points", ("WVAE β=1", "WVAE β=30"), _c5
    ),
]

GROUPS: dict[str, Group] = {
    "thesis_ch6": Group(
        title="Thesis ch. 6 — Table 6.4 at CPU scale (MNIST, J = 10)",
        experiment="thesis_ch6_cpu",
        runs=CH6_RUNS,
        columns=CH6_COLUMNS,
        claims=CH6_CLAIMS,
        quick_overrides={"trainer.max_epochs": 2},
        notes=(
            "Setting (configs/experiment/thesis_ch6_cpu.yaml, spec §P1): full MNIST 28×28 "
            "(55k train, 5k val, 10k test), MLP 784-256-256-(2J) encoder and mirror decoder (tanh), "
            "J = 10, batch 128, Adam 1e-3, 10 epochs; loss = per-sample sum of squared errors + β·R. "
            "The thesis used ResNet nets on 32×32 inputs, Adam 2e-4 and an unstated (longer) schedule "
            "(configs/experiment/thesis_ch6_mnist.yaml). Latent columns in nats on 10k training images "
            "(LL = ln MSE). IS/FD (clf) use genexp's MLP MNIST classifier (10k samples; FD against the "
            "test set): the thesis' definitions with a different classifier, so their scale is not "
            "comparable with the thesis' IS/FID columns, only the orderings are. Acc = linear probe "
            "(softmax regression on posterior means, train → test)."
        ),
    ),
}


# ------------------------------------------------------------------------------------------------
# running


def slug(text: str) -> str:
    """A folder-safe name for a run label."""
    text = text.replace("β", "beta")
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_").lower()


def run_command(group: Group, run: Run, seed: int, run_dir: Path, extra: dict[str, Any]) -> list[str]:
    """The ``python -m genexp`` command line of one run."""
    overrides = {**run.overrides, **extra}
    return [
        sys.executable,
        "-m",
        "genexp",
        f"experiment={group.experiment}",
        f"model={run.model}",
        *[f"{k}={v}" for k, v in overrides.items()],
        f"seed={seed}",
        "logger=csv",
        "num_threads=1",
        f"hydra.run.dir={run_dir}",
    ]


def run_one(cmd: list[str], run_dir: Path, force: bool) -> tuple[Optional[dict[str, Any]], float, str]:
    """Run (or reuse) one run folder; returns its metrics (None on failure), wall seconds, status."""
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists() and not force:
        return json.loads(metrics_path.read_text()), 0.0, "reused"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ, WANDB_MODE="offline", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1"
    )
    started = time.time()
    with open(run_dir / "reproduce.log", "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - started
    if proc.returncode != 0 or not metrics_path.exists():
        return None, wall, f"failed (exit {proc.returncode}; see {run_dir / 'reproduce.log'})"
    return json.loads(metrics_path.read_text()), wall, "ok"


def metric(values: dict[str, Any], key: str) -> Optional[float]:
    """A scalar from metrics.json (keys are stored with a ``test/`` prefix)."""
    v = values.get(f"test/{key}", values.get(key))
    return float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else None


def mean_std(xs: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


# ------------------------------------------------------------------------------------------------
# the table


def render(
    group: Group,
    name: str,
    results: dict[str, list[dict[str, Any]]],
    seeds: list[int],
    command: str,
    wall_s: float,
    quick: bool,
) -> str:
    """The markdown section: setting, table (ours next to the paper), claims."""
    lines = [
        f"## {group.title}{' — QUICK SUBSET (not a reproduction)' if quick else ''}",
        "",
        group.notes,
        "",
        f"Command: `{command}` — seeds {seeds}; "
        f"runs in `outputs/reproduce/{name}{'-quick' if quick else ''}/`; "
        f"wall time of the runs made by this invocation {wall_s / 60:.1f} min; generated "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| Model | source | " + " | ".join(c.header for c in group.columns) + " |",
        "|---|---|" + "---|" * len(group.columns),
    ]
    means: Means = {}
    for run in group.runs:
        if run.label not in results:
            continue
        done = results[run.label]
        cells = []
        means[run.label] = {}
        for col in group.columns:
            xs = [v for v in (metric(r, col.key) for r in done) if v is not None]
            if not xs:
                cells.append("—")
                continue
            m, s = mean_std([x * col.scale for x in xs])
            means[run.label][col.key] = m / col.scale
            cells.append(f"{m:.{col.digits}f}±{s:.{col.digits}f}")
        lines.append(f"| {run.label} | ours (n={len(done)}) | " + " | ".join(cells) + " |")
        if run.paper:
            lines.append(
                "| | thesis | " + " | ".join(run.paper.get(c.key, "—") for c in group.columns) + " |"
            )
    if group.claims:
        lines += ["", "Claims (means over seeds):", ""]
        for claim in group.claims:
            if not all(label in means for label in claim.needs):
                lines.append(f"- **{claim.cid}** {claim.text}: not run")
                continue
            try:
                ok, detail = claim.check(means)
            except KeyError as missing:
                lines.append(f"- **{claim.cid}** {claim.text}: metric {missing} missing")
                continue
            lines.append(
                f"- **{claim.cid}** {claim.text}: **{'holds' if ok else 'does not hold'}** — {detail}"
            )
    return "\n".join(lines) + "\n"


def write_section(path: Path, name: str, section: str) -> None:
    """Replace (or append) the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{section}{end}\n"
    text = (
        path.read_text()
        if path.exists()
        else "# Measured reproductions\n\nGenerated by `scripts/reproduce.py`.\n\n"
    )
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("group", nargs="?", help=f"one of {sorted(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="a minutes-long subset: 1 seed, short training")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)")
    parser.add_argument(
        "--only", nargs="+", default=None, help="run labels to run (default: all of the group)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (each uses one thread)")
    parser.add_argument("--force", action="store_true", help="re-run folders that already have metrics.json")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the table from existing runs")
    parser.add_argument(
        "--results", type=Path, default=None, help="markdown file to update (default docs/results.md)"
    )
    parser.add_argument("--list", action="store_true", help="list groups and runs")
    args = parser.parse_args(argv)
    if args.list or not args.group:
        for name, group in GROUPS.items():
            print(f"{name}: {group.title} (experiment={group.experiment})")
            for run in group.runs:
                print(f"  {run.label}{'  [quick]' if run.quick else ''}: model={run.model} {run.overrides}")
        return 0 if args.list else 2
    if args.group not in GROUPS:
        parser.error(f"unknown group {args.group!r}; choose one of {sorted(GROUPS)}")
    group = GROUPS[args.group]
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    runs = [
        r for r in group.runs if (r.quick or not args.quick) and (args.only is None or r.label in args.only)
    ]
    folder = OUT / (args.group + ("-quick" if args.quick else ""))
    extra = group.quick_overrides if args.quick else {}
    jobs = [(run, seed, folder / slug(run.label) / f"seed{seed}") for run in runs for seed in seeds]

    def work(job: tuple[Run, int, Path]) -> tuple[Run, Optional[dict[str, Any]], float]:
        run, seed, run_dir = job
        cmd = run_command(group, run, seed, run_dir, extra)
        if args.table_only:
            path = run_dir / "metrics.json"
            return run, (json.loads(path.read_text()) if path.exists() else None), 0.0
        values, wall, status = run_one(cmd, run_dir, args.force)
        print(f"[{time.strftime('%H:%M:%S')}] {run.label} seed {seed}: {status} ({wall:.0f} s)", flush=True)
        return run, values, wall

    started = time.time()
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        done = list(pool.map(work, jobs))
    results: dict[str, list[dict[str, Any]]] = {}
    for run, values, _ in done:
        if values is not None:
            results.setdefault(run.label, []).append(values)
    wall_s = sum(w for _, _, w in done) if args.jobs == 1 else time.time() - started
    command = "python scripts/reproduce.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    section = render(group, args.group, results, seeds, command.strip(), wall_s, args.quick)
    target = args.results or (folder / "results.md" if args.quick else DOCS)
    write_section(target, args.group + ("-quick" if args.quick else ""), section)
    print(section)
    print(f"written to {target}")
    failed = sum(1 for _, v, _ in done if v is None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

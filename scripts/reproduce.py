"""Run a named group of experiment configs over seeds and regenerate its table in docs/results.md.

    python scripts/reproduce.py thesis_ch6                 # the full group, seeds 0 1 2
    python scripts/reproduce.py thesis_ch6 --quick         # minutes: a subset, 1 seed, 2 epochs
    python scripts/reproduce.py thesis_ch6 --seeds 0 --only "WVAE β=0.33" "VAE β=0.33"
    python scripts/reproduce.py thesis_ch6 --table-only    # only rebuild the table from finished runs
    python scripts/reproduce.py --list

Each run is ``python -m genexp experiment=<e> model=<m> <overrides> seed=<s>`` in its own folder
``outputs/reproduce/<group>[-quick]/<run>/seed<s>`` (a folder that already has metrics.json is
reused unless ``--force``; ``--out`` moves ``outputs/reproduce``). The table (mean ± std over seeds,
next to the paper's numbers) and the group's claims, checked on the per-seed results collected from
those folders, go between ``<!-- <group>:begin -->`` and ``<!-- <group>:end -->`` in docs/results.md;
a quick run writes ``outputs/reproduce/<group>-quick/results.md`` instead.

The groups live in ``scripts/reproduction/`` (one module per group, setting paragraphs in
``docs/reproduction/<group>.md``); see ``scripts/reproduction/__init__.py`` for adding one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from reproduction import GROUPS
from reproduction.core import DOCS, OUT, ROOT, Group, Run, SiblingPath, collect, recorded_wall, slug
from reproduction.render import render, write_section

__all__ = ["GROUPS", "copy_figures", "main", "run_command", "run_one"]


def run_command(
    group: Group, run: Run, seed: int, run_dir: Path, extra: dict[str, Any], threads: int = 1
) -> list[str]:
    """The ``python -m genexp`` command line of one run (or its baseline script's), on ``threads``
    torch threads.

    ``run_dir`` is ``<group folder>/<row slug>/seed<seed>``; a :class:`SiblingPath` override
    resolves to the named row's folder of the same seed in that group folder."""
    if run.script:
        script, *args = run.script
        out = str(run_dir / "metrics.json")
        return [sys.executable, str(ROOT / script), *args, "--seeds", str(seed), "--json", out]
    overrides = {**run.overrides, **extra}
    group_dir = run_dir.parent.parent
    return [
        sys.executable,
        "-m",
        "genexp",
        f"experiment={run.experiment or group.experiment}",
        f"model={run.model}",
        *[
            f"{k}={v.resolve(group_dir, seed) if isinstance(v, SiblingPath) else v}"
            for k, v in overrides.items()
        ],
        f"seed={seed}",
        "logger=csv",
        f"num_threads={threads}",
        f"hydra.run.dir={run_dir}",
    ]


def run_one(cmd: list[str], run_dir: Path, force: bool, threads: int = 1) -> tuple[bool, float, str]:
    """Run one run folder unless it already has metrics.json; returns (ok, wall seconds, status)."""
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists() and not force:
        return True, recorded_wall(run_dir), "reused"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        WANDB_MODE="offline",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONUNBUFFERED="1",
    )
    started = time.time()
    with open(run_dir / "reproduce.log", "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - started
    if proc.returncode != 0 or not metrics_path.exists():
        return False, wall, f"failed (exit {proc.returncode}; see {run_dir / 'reproduce.log'})"
    (run_dir / "reproduce.json").write_text(json.dumps({"command": cmd, "wall_s": round(wall, 1)}))
    return True, wall, "ok"


def copy_figures(group: Group, folder: Path, figures: Path = DOCS.parent / "figures") -> None:
    """Copy each row's latest seed-0 sample figure to docs/figures/ (the results page links them),
    then run the group's figure writers (``plots``) on its run folder."""
    for name, label in group.figures.items():
        found = sorted((folder / slug(label) / "seed0" / "samples").glob("samples_*.png"))
        if found:
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found[-1], figures / name)
    for plot in group.plots:
        plot(folder)


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("group", nargs="?", help=f"one of {sorted(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="a minutes-long subset: 1 seed, short training")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)")
    parser.add_argument(
        "--only", nargs="+", default=None, help="run labels to run (default: all of the group)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per run (default 1; jobs x threads <= cores)"
    )
    parser.add_argument("--force", action="store_true", help="re-run folders that already have metrics.json")
    parser.add_argument(
        "--table-only", action="store_true", help="only rebuild the table from the finished run folders"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="markdown file to update (default docs/results.md)"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help="folder of the groups' run folders (default outputs/reproduce)"
    )
    parser.add_argument("--list", action="store_true", help="list groups and runs")
    return parser, parser.parse_args(argv)


def list_groups() -> None:
    """Print every group and its rows."""
    for name, group in GROUPS.items():
        print(f"{name}: {group.title} (experiment={group.experiment})")
        for run in group.runs:
            print(f"  {run.label}{'  [quick]' if run.quick else ''}: model={run.model} {run.overrides}")


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point."""
    parser, args = parse_args(argv)
    if args.list or not args.group:
        list_groups()
        return 0 if args.list else 2
    if args.group not in GROUPS:
        parser.error(f"unknown group {args.group!r}; choose one of {sorted(GROUPS)}")
    group = GROUPS[args.group]
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    runs = [
        r for r in group.runs if (r.quick or not args.quick) and (args.only is None or r.label in args.only)
    ]
    folder = args.out / (args.group + ("-quick" if args.quick else ""))
    extra = group.quick_overrides if args.quick else {}
    jobs = [(run, seed, folder / slug(run.label) / f"seed{seed}") for run in runs for seed in seeds]

    def work(job: tuple[Run, int, Path]) -> bool:
        run, seed, run_dir = job
        cmd = run_command(group, run, seed, run_dir, extra, args.threads)
        ok, wall, status = run_one(cmd, run_dir, args.force, args.threads)
        print(f"[{time.strftime('%H:%M:%S')}] {run.label} seed {seed}: {status} ({wall:.0f} s)", flush=True)
        return ok

    failed = 0
    if not args.table_only:
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            failed = sum(1 for ok in pool.map(work, jobs) if not ok)
    results, wall_s = collect(group, folder, args.quick)  # the claims are checked on these seeds
    if not args.quick:
        copy_figures(group, folder)
    section = render(group, args.group, results, wall_s, args.quick)
    target = args.results or (folder / "results.md" if args.quick else DOCS)
    write_section(target, args.group + ("-quick" if args.quick else ""), section)
    print(section)
    print(f"written to {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

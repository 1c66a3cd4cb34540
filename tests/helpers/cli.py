"""Running the genexp CLI from tests: a subprocess with offline wandb, the project's data and a
per-test cache, and what it left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CliRun:
    """The result of one ``python -m genexp`` call."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path

    def metrics(self) -> dict[str, Any]:
        """The run's metrics.json."""
        return json.loads((self.run_dir / "metrics.json").read_text())


def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for CLI runs: offline wandb, data/cache from the project, one torch thread."""
    env = dict(os.environ)
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.setdefault("GENEXP_DATA", str(ROOT / "data"))
    env.setdefault("GENEXP_ASSETS", str(ROOT / "assets"))
    env["GENEXP_CACHE"] = str(tmp_path / "cache")
    return env


def run_genexp(
    tmp_path: Path, *args: str, run_dir: Path | None = None, timeout: float = 300, module: str = "genexp"
) -> CliRun:
    """Run ``python -m genexp <args>`` with its run folder in ``tmp_path``."""
    run_dir = run_dir or (tmp_path / "run")
    extra = (
        []
        if any(a.startswith("hydra.run.dir") for a in args) or "-m" in args
        else [f"hydra.run.dir={run_dir}"]
    )
    cmd = [sys.executable, "-m", module, *args, *extra]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True, timeout=timeout
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, run_dir)


def has_mnist() -> bool:
    """Whether `make assets` has written MNIST under data/."""
    return (ROOT / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def checkpoint_step(path: Path) -> int:
    """The ``global_step`` stored in a Lightning checkpoint, or -1 while it cannot be read (a
    half-written file)."""
    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    except Exception:  # noqa: BLE001 - a file being written: the caller tries again
        return -1


def run_and_kill(tmp_path: Path, args: list[str], ready: Callable[[], bool], timeout: float = 240) -> None:
    """Start ``python -m genexp <args>`` and SIGKILL it as soon as ``ready()`` is true; fails if
    the process ends first (give it more steps)."""
    cmd = [sys.executable, "-m", "genexp", *args]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed; give it more steps"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

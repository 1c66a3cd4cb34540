"""Provenance of a run: what code, which libraries, which machine, which command, when.

:func:`provenance` is called once when a run (or an evaluation) starts; the run record writes it
as ``provenance`` in ``metrics.json`` (``eval_metrics.json``) and the loggers get it with the
hyper-parameters. :func:`device_info` adds the device once the trainer has chosen it, and the run
record stamps ``end_time`` each time it writes the results file (the last write ends the run).
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

PACKAGES = ("genexp", "torch", "lightning", "hydra-core", "torch-fidelity")
"""Distributions whose versions are recorded (``versions``)."""


def now() -> str:
    """The local time with its UTC offset, to the second (ISO 8601)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def package_version(name: str) -> Optional[str]:
    """The installed version of distribution ``name``, or ``None``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git(args: list[str], cwd: Path) -> Optional[str]:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(path: Optional[Path] = None) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding ``path`` (genexp's
    source by default); ``None`` values outside a git checkout or without git. ``dirty`` counts
    changes to tracked files only."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], where)
    if not commit:
        return {"commit": None, "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def command_line() -> str:
    """The full command line of this process, as a shell would read it."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join(argv)


def provenance() -> dict[str, Any]:
    """Version, git state, library versions, host, command line and start time of this run."""
    from genexp import __version__

    versions = {name: package_version(name) for name in PACKAGES}
    versions["genexp"] = versions["genexp"] or __version__
    return {
        "genexp_version": versions.pop("genexp"),
        "git": git_state(),
        "versions": versions,
        "python": sys.version.split()[0],
        "host": socket.gethostname(),
        "command": command_line(),
        "start_time": now(),
        "end_time": None,
    }


def cpu_name() -> Optional[str]:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else ``None``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def device_info(trainer: Any) -> dict[str, Any]:
    """The device the trainer runs on (``cuda:0``, ``cpu``, ...), its name, and the process count."""
    import platform

    import torch

    device = getattr(getattr(trainer, "strategy", None), "root_device", None)
    device = device if isinstance(device, torch.device) else torch.device("cpu")
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple MPS"
    else:
        name = cpu_name() or platform.processor() or platform.machine() or "cpu"
    return {"device": str(device), "device_name": name, "world_size": int(getattr(trainer, "world_size", 1))}

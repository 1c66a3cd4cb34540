"""Start test jobs as CPU process groups the way ``torchrun`` does: every rank at once, with
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set, so Lightning joins them instead of starting
rank 1 itself after rank 0 has imported everything (which doubles the start-up time)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_concurrently(
    script: Path, runs: Mapping[str, tuple[int, Sequence[str]]], cwd: Path, timeout: float = 240
) -> None:
    """Run ``script`` once per entry of ``runs`` (name -> (processes, arguments)), all at the same
    time; a run of n > 1 processes is one gloo group on a port of its own. Fails with the last
    lines of a rank's log if any process exits non-zero or the runs take longer than ``timeout``."""
    base = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    for key in ("LOCAL_RANK", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE"):
        base.pop(key, None)
    procs: list[tuple[str, Path, subprocess.Popen]] = []
    try:
        for name, (world, args) in runs.items():
            port = free_port()
            for rank in range(world):
                env = dict(base)
                if world > 1:
                    env.update(LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
                log = cwd / f"{name}-rank{rank}.log"
                with log.open("w") as out:
                    cmd = [sys.executable, str(script), *args]
                    procs.append(
                        (
                            f"{name} rank {rank}",
                            log,
                            subprocess.Popen(cmd, stdout=out, stderr=out, env=env, cwd=cwd),
                        )
                    )
        deadline = time.monotonic() + timeout
        for label, log, proc in procs:
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            assert code == 0, f"{label} exited with {code}:\n{log.read_text()[-3000:]}"
    finally:
        for _, _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

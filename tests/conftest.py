"""Shared fixtures: offline wandb, and ``genexp_cli`` (runs the CLI in a subprocess, see
:mod:`helpers.cli`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import CliRun, run_genexp

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

if os.environ.get("PYTEST_XDIST_WORKER"):  # -n 2 on 2 cores: one torch thread per worker
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def genexp_cli(tmp_path: Path):
    """``genexp_cli(*args)`` runs the CLI in ``tmp_path`` and returns a :class:`CliRun`."""

    def _run(*args: str, **kwargs: Any) -> CliRun:
        return run_genexp(tmp_path, *args, **kwargs)

    return _run

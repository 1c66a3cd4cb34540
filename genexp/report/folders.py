"""What a report page is made from: a run folder's files (config, metrics, status, samples,
history) and the jobs of a sweep folder."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from genexp.report.history import read_history
from genexp.report.html import is_number

STATUS_FILE = "status.json"
REPORT_FILE = "report.html"
SWEEP_SUMMARY_FILE = "sweep_summary.json"
TIMING_KEYS = ("fit_time_s", "train_loop_s", "steps_per_s", "fit_steps", "global_step", "epochs")
_STEP = re.compile(r"^(?P<kind>.+?)_step(?P<step>\d+)$")


@dataclass
class Image:
    """One PNG of ``samples/``: its kind (``samples``, ``reconstructions``, ...) and step."""

    path: Path
    kind: str
    step: Optional[int]


@dataclass
class RunFolder:
    """The files of one run folder, read once."""

    path: Path
    overrides: list[str] = field(default_factory=list)
    config_text: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    images: list[Image] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``finished``, ``failed``, ``interrupted``, or ``incomplete`` (no status, no metrics)."""
        if self.status.get("status"):
            return str(self.status["status"])
        return "finished" if self.metrics else "incomplete"

    @property
    def error(self) -> str:
        """The error that stopped the run ('' when none is known)."""
        return str(self.status.get("error") or "")

    @property
    def scalars(self) -> dict[str, float]:
        """The numbers of ``metrics.json`` (timing excluded)."""
        return {k: v for k, v in self.metrics.items() if is_number(v) and k not in TIMING_KEYS}

    @property
    def protocols(self) -> dict[str, Any]:
        """The non-numeric values of ``metrics.json``: protocols, errors, paths."""
        return {k: v for k, v in self.metrics.items() if not is_number(v) and k not in TIMING_KEYS}

    def latest_sample(self) -> Optional[Image]:
        """The sample grid / scatter of the last step (any image when none is called samples)."""
        ordered = [i for i in self.images if i.kind.startswith("samples")] or self.images
        return ordered[0] if ordered else None


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError:
        return None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (json.JSONDecodeError, OSError):
        return None


def find_images(run_dir: Path) -> list[Image]:
    """The PNGs of ``<run>/samples``: latest step first, then by kind; untagged ones last."""
    images = []
    for path in sorted((Path(run_dir) / "samples").glob("*.png")):
        m = _STEP.match(path.stem)
        images.append(Image(path, m["kind"] if m else path.stem, int(m["step"]) if m else None))
    return sorted(images, key=lambda i: (i.step is None, -(i.step or 0), i.kind))


def is_run_folder(path: Path) -> bool:
    """A folder a genexp run wrote (``.hydra/`` or ``metrics.json``)."""
    path = Path(path)
    return (path / ".hydra" / "config.yaml").exists() or (path / "metrics.json").exists()


def load_run(path: Path) -> RunFolder:
    """Read one run folder."""
    path = Path(path)
    config_path = path / ".hydra" / "config.yaml"
    return RunFolder(
        path=path,
        overrides=[str(o) for o in (_load_yaml(path / ".hydra" / "overrides.yaml") or [])],
        config_text=config_path.read_text() if config_path.exists() else "",
        config=_load_yaml(config_path) or {},
        metrics=_load_json(path / "metrics.json") or {},
        status=_load_json(path / STATUS_FILE) or {},
        images=find_images(path),
        history=read_history(path),
    )


def write_status(run_dir: Path, error: Optional[BaseException], wall_time_s: Optional[float]) -> Path:
    """Write ``status.json``: how the run ended (``finished``, ``failed`` or ``interrupted``, with
    the error) and its wall time, so a page rebuilt later still knows."""
    if error is None:
        state, message = "finished", ""
    elif isinstance(error, (KeyboardInterrupt, SystemExit)):
        state, message = "interrupted", f"{type(error).__name__}{': ' + str(error) if str(error) else ''}"
    else:
        state, message = "failed", f"{type(error).__name__}: {error}"
    out = {
        "status": state,
        "error": message,
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 1),
        "ended": time.time(),
    }
    path = Path(run_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    return path


def override_dict(overrides: list[str]) -> dict[str, str]:
    """``["model.beta=2", "+x=1"]`` -> ``{"model.beta": "2", "x": "1"}``."""
    out = {}
    for item in overrides:
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.lstrip("+~")] = value
    return out

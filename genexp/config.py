"""Config resolvers, run-folder resolution, resume handling and up-front validation."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf, open_dict

from genexp.errors import CheckpointError, ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def project_root() -> Path:
    """The source checkout holding this package (editable install), else the working directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def _is_run_dir(path: Path) -> bool:
    return (path / ".hydra" / "config.yaml").exists() or (path / "checkpoints").is_dir()


def resume_run_dir(resume: Optional[str]) -> Optional[Path]:
    """The run folder a ``resume`` value points into, or None for a fresh run folder.

    ``resume=auto`` means the working directory when it is a run folder; a checkpoint path
    ``<run>/checkpoints/x.ckpt`` means ``<run>``.
    """
    if resume in (None, "", "null", "None"):
        return None
    if resume == "auto":
        cwd = Path.cwd()
        return cwd if _is_run_dir(cwd) else None
    path = Path(str(resume)).expanduser().resolve()
    if path.suffix == ".ckpt" and path.parent.name == "checkpoints":
        return path.parent.parent
    if path.is_dir() and _is_run_dir(path):
        return path
    return None


def _unique_dir(path: str) -> str:
    """``path``, or ``path-2``, ``path-3``, ... if a run folder already exists there."""
    candidate, k = path, 1
    while Path(candidate).exists():
        k += 1
        candidate = f"{path}-{k}"
    return candidate


def _run_dir_resolver(resume: Any, default: str) -> str:
    found = resume_run_dir(None if resume is None else str(resume))
    return str(found) if found is not None else _unique_dir(default)


def _hydra_subdir_resolver(resume: Any) -> str:
    found = resume_run_dir(None if resume is None else str(resume))
    return f".hydra_resume/{time.strftime('%Y%m%d-%H%M%S')}" if found is not None else ".hydra"


def _log_version_resolver(resume: Any) -> str:
    """A file logger's version folder: none for a fresh run, ``resume_<time>`` for a resumed one,
    so a resumed run never replaces the files its first part wrote."""
    found = resume_run_dir(None if resume is None else str(resume))
    return f"resume_{time.strftime('%Y%m%d-%H%M%S')}" if found is not None else ""


def _log_file_resolver(path: str) -> str:
    """The run's log file on rank 0; DDP ranks > 0 write no run files (their log goes nowhere)."""
    return os.devnull if int(os.environ.get("LOCAL_RANK", "0") or 0) > 0 else path


def register_resolvers() -> None:
    """Register genexp's OmegaConf resolvers (idempotent)."""
    resolvers = {
        "genexp_log_file": (_log_file_resolver, False),
        "genexp_root": (lambda: str(project_root()), True),
        "genexp_run_dir": (_run_dir_resolver, True),
        "genexp_hydra_subdir": (_hydra_subdir_resolver, True),
        "genexp_log_version": (_log_version_resolver, True),
    }
    for name, (fn, cache) in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=cache)


SMOKE_KEY = "_smoke_"


def smoke_overrides(model: str) -> list[str]:
    """The command-line overrides a model's YAML gives for a few quick training steps: its
    ``_smoke_`` list (the smallest dataset it accepts and small sizes), else ``dataset=digits``.

    Used by the test that trains every ``configs/model/*.yaml`` and by the GPU check; the key is
    dropped before the model is instantiated."""
    node = OmegaConf.load(CONFIG_DIR / "model" / f"{model}.yaml")
    return [str(v) for v in node.get(SMOKE_KEY, None) or ["dataset=digits"]]


def find_checkpoint(resume: Optional[str], run_dir: Path) -> Optional[str]:
    """The checkpoint file to resume from, or None to start fresh.

    ``auto`` takes ``<run_dir>/checkpoints/last.ckpt`` when it exists; a path must exist.
    """
    if resume in (None, "", "null", "None"):
        return None
    if resume == "auto":
        last = run_dir / "checkpoints" / "last.ckpt"
        return str(last) if last.exists() else None
    path = Path(str(resume)).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    if not path.exists():
        raise CheckpointError(f"resume={resume}: no checkpoint at {path}; give a .ckpt file or resume=auto")
    return str(path)


def read_checkpoint_meta(ckpt_path: str) -> dict[str, Any]:
    """genexp's run state stored in a checkpoint; a corrupt file raises :class:`CheckpointError`."""
    import torch

    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    except Exception as err:  # any unpickling/zip failure means the file is unusable
        raise CheckpointError(
            f"cannot read checkpoint {ckpt_path} ({type(err).__name__}: {err}); it is corrupt or "
            "truncated: resume from another file in checkpoints/ or start a fresh run"
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{ckpt_path} is not a Lightning checkpoint (no state_dict)")
    return dict(ckpt.get("genexp", {}))


def load_run_config(run_dir: Path) -> DictConfig:
    """The resolved config a run folder was started with (``<run>/.hydra/config.yaml``)."""
    path = Path(run_dir) / ".hydra" / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir} has no .hydra/config.yaml; is it a genexp run folder?")
    return OmegaConf.load(path)


def saved_group_choices(run_dir: Path) -> dict[str, Any]:
    """The config-group choices a run folder was started with (from ``.hydra/hydra.yaml``)."""
    path = Path(run_dir) / ".hydra" / "hydra.yaml"
    if not path.exists():
        return {}
    choices = OmegaConf.select(OmegaConf.load(path), "hydra.runtime.choices", default=None)
    return OmegaConf.to_container(choices) if choices is not None else {}


def merge_resumed_config(
    saved: DictConfig, current: DictConfig, overrides: list[str], choices: Optional[dict[str, Any]] = None
) -> DictConfig:
    """The saved run config with this invocation's ``key=value`` overrides applied on top.

    Repeating the run's own group choices is fine; changing a config group (``model=...``)
    while resuming is refused: it would load weights into a different experiment.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    groups = {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()}
    choices = choices or {}
    merged = OmegaConf.create(OmegaConf.to_container(saved))
    for ov in OverridesParser.create().parse_overrides(list(overrides)):
        key = ov.key_or_group
        if key == "resume" or key.startswith("hydra"):
            continue
        value = ov.value()
        if key in groups:
            if str(choices.get(key)) == str(value):
                continue
            raise ConfigError(
                f"cannot change {key} from {choices.get(key)!r} to {value!r} when "
                "resuming a run; start a new run instead"
            )
        if ov.is_delete():
            continue
        OmegaConf.update(merged, key, value, merge=True, force_add=True)
    with open_dict(merged):
        merged.resume = current.resume
        merged.paths = current.paths
    return merged


def resumed_config(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The config a run will train with: for ``resume=<run folder or its checkpoint>``, the run's
    saved config with ``overrides`` merged (:func:`merge_resumed_config`); else ``cfg``."""
    run_dir = resume_run_dir(cfg.get("resume"))
    if run_dir is None or not (run_dir / ".hydra" / "config.yaml").exists():
        return cfg
    return merge_resumed_config(load_run_config(run_dir), cfg, overrides, saved_group_choices(run_dir))


def validate(cfg: DictConfig, overrides: Optional[list[str]] = None) -> None:
    """Fail early, with one line: every key of every group against its target's signature
    (:func:`genexp.validation.validate_config`, with the command line's ``overrides`` for the
    ``prior`` choice), and an empty ``resume``."""
    from genexp.validation import validate_config

    if cfg.get("resume") not in (None, "auto") and not str(cfg.resume).strip():
        raise ConfigError("resume must be a checkpoint path, a run folder, or auto")
    validate_config(cfg, overrides)


def resolve_num_threads(value: Any) -> int:
    """torch intra-op threads for ``num_threads`` (0 means keep torch's default)."""
    if value == "auto":
        cores = os.cpu_count() or 1
        return 1 if cores <= 2 else (cores - 1 if cores <= 4 else 0)
    return int(value or 0)


def wandb_mode_default() -> None:
    """wandb runs offline unless the user chose a mode."""
    os.environ.setdefault("WANDB_MODE", "offline")

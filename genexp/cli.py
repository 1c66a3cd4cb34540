"""The ``genexp`` command: checks the command line before Hydra runs, prints user errors on one line."""

from __future__ import annotations

import os
import sys
from typing import Callable

from genexp.config import CONFIG_DIR, register_resolvers
from genexp.errors import GenexpError

_HYDRA_FLAGS_WITHOUT_RUN = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--resolve", "--version")


def group_options(group: str) -> list[str]:
    """The option names of a config group (YAML files in ``configs/<group>/``)."""
    folder = CONFIG_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _split_values(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if value.startswith(("choice(", "range(", "glob(")):
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def check_group_choices(overrides: list[str]) -> None:
    """Raise a one-line ``ConfigError`` for an unknown config-group option (e.g. ``model=foo``)."""
    from genexp.errors import ConfigError

    for item in overrides:
        if "=" not in item:
            continue
        key, value = item.split("=", 1)
        group = key.lstrip("+~").split("@", 1)[0]
        if group.startswith("hydra"):
            continue  # launcher/sweeper plugins register options of their own
        options = group_options(group)
        if not options or value in ("null", ""):
            continue
        for choice in _split_values(value):
            if choice not in options:
                raise ConfigError(f"unknown {group} {choice!r}; choose one of: {', '.join(options)}")


def fail_user_error(err: GenexpError) -> None:
    """Print a user error on one line and exit 2 (re-raise it when ``HYDRA_FULL_ERROR=1``)."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise err
    print(f"genexp: error: {err}", file=sys.stderr)
    sys.exit(2)


def precompose(overrides: list[str], config_name: str = "train") -> None:
    """Compose and validate the config of every job (each job of a ``-m`` sweep, see
    :mod:`genexp.sweep_plan`) so unknown keys, bad types and impossible values fail in one line
    before anything runs; a sweep's message names the job."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from genexp.config import resumed_config, validate
    from genexp.errors import ConfigError
    from genexp.sweep_plan import sweep_jobs, swept_part
    from genexp.validation import check_data

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            jobs, numbered = sweep_jobs(overrides, config_name)
            for num, single in enumerate(jobs):
                try:
                    cfg = compose(config_name=config_name, overrides=single)
                    if config_name == "train":
                        cfg = resumed_config(cfg, single)
                        validate(cfg, single)
                        check_data(cfg)
                except (HydraException, OmegaConfBaseException, GenexpError) as err:
                    message = " ".join(str(err).split())
                    if len(jobs) > 1:
                        job = " ".join(swept_part(single, jobs))
                        where = f"sweep job {num}" if numbered else "sweep search space"
                        message = f"{where} ({job}): {message}"
                    kind = type(err) if isinstance(err, GenexpError) else ConfigError
                    raise kind(message) from None
    finally:
        GlobalHydra.instance().clear()


def run_cli(entry: Callable[[], None], config_name: str = "train") -> None:
    """Check the command line against ``configs/<config_name>.yaml``, then run the Hydra entry
    point; user errors exit 2 on one line, a sweep in which a job failed exits 1."""
    register_resolvers()
    args = sys.argv[1:]
    try:
        if not any(a in _HYDRA_FLAGS_WITHOUT_RUN or a.startswith("--cfg") for a in args):
            overrides = [a for a in args if not a.startswith("-")]
            check_group_choices(overrides)
            precompose(overrides, config_name)
        entry()
    except GenexpError as err:
        fail_user_error(err)
    from genexp.sweep_summary import failed_jobs

    if failed_jobs():  # a sweep that went on past failed jobs still says so in its exit status
        sys.exit(1)

"""The jobs of a ``-m`` sweep, listed before anything runs so that every job's config is checked.

:func:`sweep_jobs` turns a command line into the task overrides of each job, the way the configured
sweeper will: Hydra's basic sweeper runs the cartesian product of its comma lists, ``range()`` and
``choice()`` values (``hydra.sweeper.params`` first, then the command line), numbered in that order.
A search-space sweeper (Optuna and others) draws its jobs while it runs, so there each discrete
value of each swept key is checked once (the other keys at their first value) and an
``interval()`` by its lower end, a value the sweeper can draw.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from genexp.errors import ConfigError

_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _parse(lines: list[str], config_loader: Any) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        return OverridesParser.create(config_loader=config_loader).parse_overrides(lines)
    except HydraException as err:
        raise ConfigError(f"cannot parse the command line: {str(err).splitlines()[0]}") from None


def _is_hydra(override: Any) -> bool:
    return str(override.key_or_group).startswith("hydra")


def _values(override: Any) -> list[str]:
    """``key=value`` for every value of an override (one for a plain value, the lower end of an
    ``interval()``)."""
    key = override.get_key_element()
    if not override.is_sweep_override():
        return [
            override.input_line if override.input_line else f"{key}={override.get_value_element_as_str()}"
        ]
    if override.is_discrete_sweep():
        return [f"{key}={value}" for value in override.sweep_string_iterator()]
    return [f"{key}={override.value().start}"]  # interval(start, end): start can be drawn


def _sweeper(task: list[Any], hydra_lines: list[str], config_name: str) -> tuple[str, list[str]]:
    """The configured sweeper's target and its ``params`` as ``key=value`` lines."""
    from hydra import compose

    first = [_values(ov)[0] for ov in task]
    cfg = compose(config_name=config_name, overrides=first + hydra_lines, return_hydra_config=True)
    target = str(OmegaConf.select(cfg, "hydra.sweeper._target_", default=_BASIC_SWEEPER))
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    return target, [f"{key}={value}" for key, value in params.items()]


def _latest_per_key(overrides: list[Any]) -> list[Any]:
    """One override per key, the last one given winning, in order of first appearance (as the
    sweepers do)."""
    by_key: dict[str, Any] = {}
    for ov in overrides:
        by_key[ov.get_key_element()] = ov
    return list(by_key.values())


def sweep_jobs(overrides: list[str], config_name: str = "train") -> tuple[list[list[str]], bool]:
    """The task overrides of every job to check, and whether they are the sweep's numbered jobs
    (basic sweeper) rather than sample values of a search space.

    Call it inside ``hydra.initialize_config_dir``; a sweep the sweeper cannot run (an
    ``interval()`` with the basic sweeper, a bad sweeper option) raises :class:`ConfigError`."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    loader = GlobalHydra.instance().config_loader()
    parsed = _parse(overrides, loader)
    task = [ov for ov in parsed if not _is_hydra(ov)]
    hydra_lines = [ov.input_line for ov in parsed if _is_hydra(ov) and not ov.is_sweep_override()]
    try:
        target, params = _sweeper(task, hydra_lines, config_name)
    except (HydraException, OmegaConfBaseException):
        # the sweeper/launcher options are Hydra's to report; check the task keys as they are
        target, params = _BASIC_SWEEPER, []
    if not params and not any(ov.is_sweep_override() for ov in task):
        return [[_values(ov)[0] for ov in task]], False
    task = _latest_per_key(_parse(params, loader) + task)
    if target == _BASIC_SWEEPER:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        try:
            return [list(job) for job in BasicSweeper.split_arguments(task, None)[0]], True
        except HydraException as err:
            raise ConfigError(f"{err}; use hydra/sweeper=optuna_search for interval()") from None
    base = [_values(ov)[0] for ov in task]
    jobs = [base]
    for i, ov in enumerate(task):
        for value in _values(ov)[1:]:
            jobs.append(base[:i] + [value] + base[i + 1 :])
    return jobs, False


def swept_part(job: list[str], all_jobs: list[list[str]]) -> list[str]:
    """The overrides of ``job`` that differ between the jobs (what names it in a message)."""
    varying = [i for i in range(len(job)) if len({j[i] for j in all_jobs if len(j) == len(job)}) > 1]
    return [job[i] for i in varying] or job

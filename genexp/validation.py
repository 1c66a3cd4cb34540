"""The pre-flight check: every key of every group, before a run folder, a logger or a model exists.

:func:`validate_config` walks the composed config. Each node with a ``_target_`` (the model and
its nets, priors and ``_partial_`` optimizer factories, the dataset, the trainer and its strategy,
every metric, logger and callback) is checked against the target's own signature
(:mod:`genexp.signature_check`): unknown keys, wrong types and impossible values stop the run with
one :class:`~genexp.errors.ConfigError` line naming the full key, the value and what it must be.
Torch optimizers and schedulers, whose constructors check their values in code, are built once
on a dummy parameter to get those checks too. :func:`check_data` asks the datamodule whether its
files are there. ``genexp.cli.precompose`` runs both before Hydra creates the run folder;
``genexp.train.train`` runs :func:`validate_config` again on a resumed run's merged config.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Iterable, Literal, Optional, Sequence, Union

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genexp.config import SMOKE_KEY
from genexp.constraints import NonNegativeInt
from genexp.errors import ConfigError
from genexp.external_constraints import external_annotations
from genexp.signature_check import accepted, qualified_name, value_problem

GROUPS = ("prior", "dataset", "model", "trainer", "metric", "logger", "callbacks")
"""Groups whose nodes are checked, in this order (a group another refers to comes first)."""
MAPPING_GROUPS = ("metric", "logger", "callbacks")
"""Groups that hold ``{name: node}`` rather than one node."""
UNCHECKED_ROOT_KEYS = ("paths", "hydra", "nets")
"""Root keys not checked here: paths, Hydra's own, and experiments' net templates (``nets``: each
template is checked where a group refers to it, e.g. ``model.encoder: ${nets.encoder}``)."""
SPECIAL_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_", SMOKE_KEY})
CALLER_SUPPLIED = {"trainer": frozenset({"callbacks", "logger", "default_root_dir"})}
"""Arguments genexp's code passes itself when it instantiates a group's node."""


def run_options(
    name: str = "",
    seed: NonNegativeInt = 0,
    num_threads: Union[Literal["auto"], NonNegativeInt] = "auto",
    resume: Optional[str] = None,
    test_after_fit: bool = True,
    optimized_metric: Optional[str] = None,
    compile: bool = False,
    channels_last: bool = False,
) -> None:
    """The root keys of ``configs/train.yaml`` besides the groups; checked like a target's."""


def _resolve(node: DictConfig | ListConfig, key: Any, path: str) -> tuple[bool, Any]:
    """(resolvable, value) of ``node[key]``; values that need Hydra's run-time state (the run
    folder, before Hydra made it) are not resolvable yet and are skipped."""
    try:
        value = node[key]
        if isinstance(value, (DictConfig, ListConfig)) and not _is_target(value):
            OmegaConf.to_container(value, resolve=True)
        return True, value
    except OmegaConfBaseException as err:
        if "HydraConfig" in str(err):
            return False, None
        raise ConfigError(f"{path}: {' '.join(str(err).split())}") from None


def _is_target(value: Any) -> bool:
    return isinstance(value, DictConfig) and "_target_" in value


def _refers_to_group(node: DictConfig, key: str) -> bool:
    """Whether ``node[key]`` is exactly ``${<group>}`` for a group this module checks."""
    if not OmegaConf.is_interpolation(node, key):
        return False
    raw = str(node._get_node(key)._value()).replace(" ", "")
    return raw in {f"${{{g}}}" for g in GROUPS}


def _plain(value: Any) -> Any:
    return (
        OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value
    )


def _locate(node: DictConfig, path: str) -> Any:
    # the lookup hydra.utils.instantiate uses (hydra.utils.get_object would also log an error line)
    from hydra._internal.utils import _locate as hydra_locate

    target = node.get("_target_")
    try:
        return hydra_locate(str(target))
    except Exception as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ConfigError(f"{path}._target_={target!r} cannot be imported: {reason}") from None


def check_node(node: DictConfig, path: str, provided: Iterable[str] = ()) -> None:
    """Check one ``_target_`` node (and the nodes nested in it) against the target's signature."""
    target = _locate(node, path)
    acc = accepted(target, external_annotations())
    for key in node.keys():
        if key in SPECIAL_KEYS:
            continue
        full = f"{path}.{key}"
        if key not in acc.params and not acc.open:
            takes = ", ".join(acc.params) or "no keyword arguments"
            raise ConfigError(f"{full} is not a parameter of {acc.name} (it takes: {takes})")
        ok, value = _resolve(node, key, full)
        if not ok:
            continue
        if isinstance(value, DictConfig) and _refers_to_group(node, str(key)):
            continue  # a whole group referred to (``prior: ${prior}``): checked where it is defined
        if _is_target(value):
            check_node(value, full)
            continue
        if isinstance(value, ListConfig) and any(_is_target(v) for v in value):
            for i, item in enumerate(value):
                if _is_target(item):
                    check_node(item, f"{full}[{i}]")
            continue
        plain = _plain(value)
        problem = value_problem(plain, acc.hints.get(str(key), inspect.Parameter.empty))
        if problem:
            raise ConfigError(f"{full}={repr(plain)} is invalid: {problem}")
    if not node.get("_partial_", False):
        missing = [p for p in acc.required() if p not in node and p not in set(provided)]
        if missing:
            raise ConfigError(f"{path}.{missing[0]} is missing: {acc.name} needs it (no default)")
    dry_run(target, node, path)


def dry_run(target: Any, node: DictConfig, path: str) -> None:
    """Build a torch optimizer (scheduler) on a dummy parameter, so the value checks it does in code
    (``lr >= 0``, betas in [0, 1), ...) run before the run starts; the culprit key is named."""
    import torch

    if not inspect.isclass(target):
        return
    is_opt = issubclass(target, torch.optim.Optimizer)
    is_sched = issubclass(target, torch.optim.lr_scheduler.LRScheduler)
    if not (is_opt or is_sched):
        return
    kwargs = {str(k): _plain(node[k]) for k in node.keys() if k not in SPECIAL_KEYS}
    given = {"params"} if is_opt else {"optimizer"}
    if any(p not in kwargs and p not in given for p in accepted(target).required()):
        return  # the model passes the rest (e.g. a schedule's length); nothing to try yet

    def fails(kw: dict[str, Any]) -> Optional[str]:
        param = torch.nn.Parameter(torch.zeros(1))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                target([param], **kw) if is_opt else target(torch.optim.SGD([param], lr=0.1), **kw)
        except (ValueError, TypeError, RuntimeError) as err:
            return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None

    if fails(kwargs) is None:
        return
    for key, value in kwargs.items():
        reason = fails({key: value})
        if reason is not None:
            raise ConfigError(
                f"{path}.{key}={repr(value)} is invalid: {qualified_name(target)} refuses it ({reason})"
            )
    raise ConfigError(f"{path}: {qualified_name(target)} refuses these values ({fails(kwargs)})")


def _check_root(cfg: DictConfig) -> None:
    acc = accepted(run_options)
    for key in cfg.keys():
        if key in GROUPS or key in UNCHECKED_ROOT_KEYS:
            continue
        if key not in acc.params:
            raise ConfigError(f"{key} is not a genexp setting (top-level keys: {', '.join(acc.params)})")
        ok, value = _resolve(cfg, key, str(key))
        if ok:
            problem = value_problem(_plain(value), acc.hints.get(str(key), inspect.Parameter.empty))
            if problem:
                raise ConfigError(f"{key}={repr(_plain(value))} is invalid: {problem}")


def validate_config(cfg: DictConfig, overrides: Optional[Sequence[str]] = None) -> None:
    """Check every key of the composed ``cfg``; raise a one-line :class:`ConfigError` on the first
    unknown key, wrong type or impossible value. With ``overrides`` (the command line), a
    ``prior=...`` choice is also checked against the model (:func:`check_prior_choice`)."""
    _check_root(cfg)
    for group in GROUPS:
        node = cfg.get(group)
        if node is None:
            continue
        if group in MAPPING_GROUPS:
            if not isinstance(node, DictConfig):
                raise ConfigError(f"{group} must be a mapping of name: node, got {repr(_plain(node))}")
            for name in node.keys():
                sub = node[name]
                if sub is None:
                    continue
                if not _is_target(sub):
                    raise ConfigError(
                        f"{group}.{name} must be a node with a _target_, got {repr(_plain(sub))}"
                    )
                check_node(sub, f"{group}.{name}")
        elif _is_target(node):
            check_node(node, group, CALLER_SUPPLIED.get(group, ()))
    if overrides:
        check_prior_choice(cfg, overrides)


def _override_value(overrides: Sequence[str], key: str) -> Optional[str]:
    for item in overrides:
        name, sep, value = item.partition("=")
        if sep and name.lstrip("+~") == key:
            return value
    return None


def _model_name(cfg: DictConfig, overrides: Sequence[str]) -> str:
    chosen = _override_value(overrides, "model")
    if chosen:
        return chosen
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().runtime.choices["model"])
    except Exception:
        return str(cfg.model.get("_target_", "?")).rsplit(".", 1)[-1]


def check_prior_choice(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """A ``prior=...`` on the command line is refused by a model that does not use the ``prior``
    group (its YAML defines its own prior, or it has none): never ignored silently."""
    choice = _override_value(overrides, "prior")
    model = cfg.get("model")
    if choice is None or not isinstance(model, DictConfig):
        return
    raw = OmegaConf.to_container(model, resolve=False).get("prior")
    if isinstance(raw, str) and "${prior}" in raw.replace(" ", ""):
        return
    name = _model_name(cfg, overrides)
    if isinstance(raw, dict) and "_target_" in raw:
        own = str(raw["_target_"]).rsplit(".", 1)[-1]
        raise ConfigError(f"model {name} owns its prior ({own}); set model.prior.* instead of prior={choice}")
    raise ConfigError(f"model {name} uses no prior from the prior group; drop prior={choice}")


def check_data(cfg: DictConfig) -> None:
    """Raise the datamodule's one-line :class:`~genexp.errors.DataError` when its files are
    missing. The datamodule says what it needs (``check_files``); building it reads nothing."""
    node = cfg.get("dataset")
    if not _is_target(node):
        return
    target = _locate(node, "dataset")
    if not callable(getattr(target, "check_files", None)):
        return
    from genexp.train import instantiate

    instantiate(node, "dataset").check_files()

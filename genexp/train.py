"""One run, start to finish: config -> datamodule, model, callbacks, loggers, trainer -> fit -> test."""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from omegaconf import DictConfig, OmegaConf, open_dict

from genexp.cli import fail_user_error
from genexp.config import (
    SMOKE_KEY,
    find_checkpoint,
    read_checkpoint_meta,
    resolve_num_threads,
    resumed_config,
    validate,
    wandb_mode_default,
)
from genexp.errors import ConfigError, GenexpError

if TYPE_CHECKING:
    from genexp.run_record import RunRecord


def instantiate(node: Any, what: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that turns errors a user caused into one-line ConfigErrors."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    if isinstance(node, DictConfig) and SMOKE_KEY in node:  # a model's test metadata, not an argument
        node = copy.copy(node)  # a shallow copy keeps the parent, so interpolations still resolve
        with open_dict(node):
            del node[SMOKE_KEY]
    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        while cause is not None and not isinstance(cause, GenexpError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, GenexpError):
            raise cause from None
        if isinstance(cause, TypeError):
            raise ConfigError(
                f"{what}: {cause}; check the keys and value types of the {what} config"
            ) from None
        raise


def _is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _prepare_trainer_config(cfg: DictConfig) -> None:
    """Multirun with a subprocess DDP strategy re-runs the whole sweep per rank: use spawn there."""
    strategy = OmegaConf.select(cfg, "trainer.strategy")
    if (
        isinstance(strategy, DictConfig)
        and "DDPStrategy" in str(strategy.get("_target_", ""))
        and _is_multirun()
    ):
        if strategy.get("start_method", "popen") == "popen":
            print(
                "genexp: multirun with DDP: using start_method=spawn (ddp_spawn) for each job",
                file=sys.stderr,
            )
            with open_dict(cfg):
                cfg.trainer.strategy.start_method = "spawn"
    elif (
        isinstance(strategy, str)
        and strategy.startswith("ddp")
        and "spawn" not in strategy
        and _is_multirun()
    ):
        raise ConfigError(
            f"trainer.strategy={strategy} cannot run inside a multirun sweep; use "
            "trainer=ddp_cpu or ddp_spawn"
        )


def build_loggers(cfg: DictConfig, wandb_id: Optional[str]) -> list[Any]:
    """Instantiate every configured logger; a resumed wandb run reuses its id."""
    loggers = []
    for name, node in (cfg.get("logger") or {}).items():
        if node is None:
            continue
        if "WandbLogger" in str(node.get("_target_", "")):
            wandb_mode_default()
            if wandb_id:
                node = OmegaConf.merge(node, {"id": wandb_id, "resume": "allow"})
        loggers.append(instantiate(node, f"logger.{name}"))
    return loggers


def build_callbacks(
    cfg: DictConfig, record: RunRecord, groups: tuple[str, ...] = ("callbacks", "metric")
) -> list[Any]:
    """The callbacks of ``groups`` (run bookkeeping, then metrics), then the run record."""
    callbacks = []
    for group in groups:
        for name, node in (cfg.get(group) or {}).items():
            if node is not None and "_target_" in node:
                callbacks.append(instantiate(node, f"{group}.{name}"))
    callbacks.append(record)
    return callbacks


def build_run(
    cfg: DictConfig,
    record: RunRecord,
    groups: tuple[str, ...] = ("callbacks", "metric"),
    with_loggers: bool = True,
    wandb_id: Optional[str] = None,
    **trainer_kwargs: Any,
) -> tuple[Any, Any, Any, list[Any]]:
    """(datamodule, model, trainer, loggers) of a validated config; the trainer carries ``record``.

    Loggers are built last, so a config error in the model or a callback creates no logger run."""
    datamodule = instantiate(cfg.dataset, "dataset")
    model = instantiate(cfg.model, "model")
    if hasattr(model, "set_run_options"):  # the run's ``compile`` / ``channels_last`` (train.yaml)
        model.set_run_options(bool(cfg.get("compile", False)), bool(cfg.get("channels_last", False)))
    callbacks = build_callbacks(cfg, record, groups)
    loggers = build_loggers(cfg, wandb_id) if with_loggers else []
    trainer = instantiate(
        cfg.trainer,
        "trainer",
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=str(record.folder),
        **trainer_kwargs,
    )
    return datamodule, model, trainer, loggers


def finish_loggers(loggers: list[Any]) -> None:
    """Close wandb runs so the next job of a sweep starts its own."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            import wandb

            wandb.finish()


def release_process_group() -> None:
    """Tear down torch.distributed after a DDP run so the process exits without stray threads."""
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def train(cfg: DictConfig, run_dir: Path, overrides: Optional[list[str]] = None) -> dict[str, Any]:
    """Train and test one model; return the final results (also written to ``metrics.json``)."""
    import lightning as L
    import torch

    from genexp.provenance import device_info, provenance

    prov = provenance()
    warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    cfg = resumed_config(cfg, overrides or [])
    validate(cfg, overrides)
    _prepare_trainer_config(cfg)
    if OmegaConf.select(cfg, "trainer.accelerator") == "cpu":
        # Lightning asks torch to probe CUDA through NVML (fork safety); torch's Adam then reloads
        # the NVML library at every step, which costs ~0.3-0.7 ms per step on a machine without a
        # GPU. A CPU run does not fork CUDA state, so use the plain runtime check.
        os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "0"
    threads = resolve_num_threads(cfg.get("num_threads", "auto"))
    if threads:
        torch.set_num_threads(threads)
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)

    ckpt_path = find_checkpoint(cfg.get("resume"), run_dir)
    meta = read_checkpoint_meta(ckpt_path) if ckpt_path else {}

    from genexp.run_record import RunRecord

    datamodule, model, trainer, loggers = build_run(
        cfg, RunRecord(run_dir, extra={"provenance": prov}), wandb_id=meta.get("wandb_run_id")
    )
    prov.update(device_info(trainer))
    started = time.time()
    try:
        if loggers and trainer.global_rank == 0:
            hparams = {**OmegaConf.to_container(cfg, resolve=True), "provenance": prov}
            for logger in loggers:
                logger.log_hyperparams(hparams)
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        if cfg.get("test_after_fit", True):
            trainer.test(model, datamodule=datamodule, verbose=False)
    finally:
        if trainer.global_rank == 0:  # also after a NaN stop or an interrupt: what exists
            write_report(run_dir, sys.exc_info()[1], time.time() - started)
        finish_loggers(loggers)
        release_process_group()
    results = _read_results(run_dir)
    results.setdefault("wall_time_s", round(time.time() - started, 1))
    if trainer.global_rank == 0:
        print_summary(results, run_dir, trainer.global_step)
    return results


def write_report(
    folder: Path, error: Optional[BaseException] = None, wall_time_s: float = 0.0, sweep: bool = False
) -> None:
    """Write a run's ``status.json`` and ``report.html`` (a sweep's page with ``sweep``); a failure
    to do so is only a warning, so it never hides the run's own error."""
    try:
        from genexp.report import finish_run, write_sweep_report

        if sweep:
            write_sweep_report(folder)
        else:
            finish_run(folder, error, wall_time_s)
    except Exception as err:  # noqa: BLE001
        logging.getLogger(__name__).warning("genexp: could not write %s: %r", folder / "report.html", err)


def _read_results(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else {}


def print_summary(results: dict[str, Any], run_dir: Path, steps: int) -> None:
    """A one-screen summary of the run's final numbers and where its files are."""
    lines = ["", "=" * 72, f"genexp run finished: {steps} optimizer steps"]
    for key in sorted(results):
        value = results[key]
        if isinstance(value, float):
            lines.append(f"  {key:<40s} {value:.6g}")
        elif isinstance(value, (int, str)) and len(str(value)) < 60:
            lines.append(f"  {key:<40s} {value}")
    lines.append(f"run folder: {run_dir}")
    if (run_dir / "report.html").exists():
        lines.append(f"report page: {run_dir / 'report.html'}")
    lines.append("=" * 72)
    print("\n".join(lines))


def train_from_hydra(cfg: DictConfig) -> Optional[float]:
    """Hydra task: run :func:`train` in Hydra's output folder; return the optimized metric.

    In a ``-m`` sweep the job is skipped, resumed or run by :func:`genexp.sweep_resume.run_sweep_job`,
    which records a run-time failure in the job folder and returns None instead of raising."""
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        if _is_multirun():
            from genexp.sweep_resume import run_sweep_job

            return run_sweep_job(cfg, run_dir, list(hc.overrides.task), hc.job.get("num"), train)
        results = train(cfg, run_dir, list(hc.overrides.task))
    except GenexpError as err:
        if _is_multirun():  # the exit below ends the sweep: its page shows the jobs so far
            write_report(Path(hc.sweep.dir), sweep=True)
        fail_user_error(err)
    key = cfg.get("optimized_metric")
    value = results.get(key) if key else None
    return float(value) if isinstance(value, (int, float)) else None

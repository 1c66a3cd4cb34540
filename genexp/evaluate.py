"""``python -m genexp.evaluate ckpt=PATH metric=[fid,clustering]``: metrics of a saved checkpoint.

Loads the run's saved config (``<run>/.hydra/config.yaml``), rebuilds its datamodule, model and
trainer, and runs ``trainer.test(ckpt_path=...)`` with the chosen metric callbacks. The numbers
(metric callbacks and the model's own ``test/*`` values) go to ``<run>/eval_metrics.json``;
Hydra's files for the evaluation go to ``<run>/eval/<date>_<time>/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from genexp.cli import fail_user_error, run_cli
from genexp.config import CONFIG_DIR, load_run_config, register_resolvers, validate
from genexp.errors import CheckpointError, GenexpError
from genexp.train import build_run, release_process_group
from genexp.validation import check_data


def resolve_checkpoint(ckpt: str) -> tuple[Path, Path]:
    """(checkpoint file, run folder) for a ``.ckpt`` path or a run folder (-> ``checkpoints/last.ckpt``)."""
    path = Path(str(ckpt)).expanduser().resolve()
    if path.is_dir():
        candidates = [path / "checkpoints" / "last.ckpt", *sorted((path / "checkpoints").glob("*.ckpt"))]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise CheckpointError(f"ckpt={ckpt}: no checkpoints/*.ckpt in that folder")
        return found, path
    if not path.is_file():
        raise CheckpointError(
            f"ckpt={ckpt}: no such checkpoint file; give <run>/checkpoints/<name>.ckpt or a run folder"
        )
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return path, run_dir


def _eval_dir_resolver(ckpt: Any) -> str:
    """Hydra's output folder for an evaluation: ``<run>/eval/<date>_<time>`` (or ``outputs/eval/...``)."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        _, run_dir = resolve_checkpoint(str(ckpt))
    except CheckpointError:
        return str(Path.cwd() / "outputs" / "eval" / stamp)
    return str(run_dir / "eval" / stamp)


def register_eval_resolvers() -> None:
    """genexp's resolvers plus ``genexp_eval_dir`` (idempotent)."""
    register_resolvers()
    if not OmegaConf.has_resolver("genexp_eval_dir"):
        OmegaConf.register_new_resolver("genexp_eval_dir", _eval_dir_resolver, use_cache=True)


def evaluation_config(cfg: DictConfig, run_cfg: DictConfig, run_dir: Path) -> DictConfig:
    """The run's config with this call's metrics, paths, seed and (optionally) trainer."""
    merged = OmegaConf.create(OmegaConf.to_container(run_cfg, resolve=False))
    with open_dict(merged):
        merged.metric = OmegaConf.to_container(cfg.metric, resolve=False)
        merged.paths = OmegaConf.to_container(cfg.paths, resolve=False)
        merged.paths.output_dir = str(run_dir)
        if cfg.get("seed") is not None:
            # the seed draws other samples; the data split stays the run's (``dataset.seed`` follows
            # ``${seed}`` in the dataset YAMLs: pin it to the value the run was trained with)
            data_seed = OmegaConf.select(run_cfg, "dataset.seed", default=None)
            if data_seed is not None and "dataset" in merged:
                merged.dataset.seed = data_seed
            merged.seed = cfg.seed
        if cfg.get("trainer") is not None:
            merged.trainer = OmegaConf.to_container(cfg.trainer, resolve=False)
    return merged


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.ckpt`` with ``cfg.metric``; return (and write) the numbers.

    The run's saved config goes through the same validation and building as a training run
    (:func:`genexp.config.validate`, :func:`genexp.train.build_run`), with the metric callbacks
    only, and the same run record writes ``eval_metrics.json``."""
    import lightning as L
    import torch

    from genexp.provenance import device_info, provenance
    from genexp.run_record import RunRecord

    prov = provenance()
    ckpt, run_dir = resolve_checkpoint(cfg.ckpt)
    run_cfg = evaluation_config(cfg, load_run_config(run_dir), run_dir)
    validate(run_cfg)
    check_data(run_cfg)
    if cfg.get("num_threads"):
        torch.set_num_threads(int(cfg.num_threads))
    L.seed_everything(int(run_cfg.seed), verbose=False)
    metrics = list((run_cfg.get("metric") or {}).keys())
    extra = {"ckpt": str(ckpt), "metrics": metrics, "provenance": prov}
    record = RunRecord(run_dir, "eval_metrics.json", extra=extra)
    datamodule, model, trainer, _ = build_run(
        run_cfg, record, groups=("metric",), with_loggers=False, enable_checkpointing=False
    )
    prov.update(device_info(trainer))
    try:
        trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt), verbose=False)
    finally:
        release_process_group()
    out = record.collect(trainer)
    if trainer.global_rank == 0:
        print(f"genexp.evaluate: {len(out)} values written to {run_dir / record.file_name}")
    return out


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def _hydra_entry(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except GenexpError as err:
        fail_user_error(err)


def main() -> None:
    """Command-line entry point; user errors print one line and exit 2."""
    register_eval_resolvers()
    run_cli(_hydra_entry, config_name="evaluate")


if __name__ == "__main__":
    main()

"""``python -m genexp.evaluate ckpt=PATH metric=[fid,clustering]``: metrics of a saved checkpoint.

Loads the run's saved config (``<run>/.hydra/config.yaml``), rebuilds its datamodule, model and
trainer, and runs ``trainer.test(ckpt_path=...)`` with the chosen metric callbacks. The numbers
(metric callbacks and the model's own ``test/*`` values) go to ``<run>/eval_metrics.json``;
Hydra's files for the evaluation go to ``<run>/eval/<date>_<time>/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from genexp.cli import fail_user_error, run_cli
from genexp.config import CONFIG_DIR, load_run_config, register_resolvers
from genexp.errors import CheckpointError, GenexpError
from genexp.train import release_process_group


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
        raise CheckpointError(f"ckpt={ckpt}: no such checkpoint file; give <run>/checkpoints/<name>.ckpt or a run folder")
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
            merged.seed = cfg.seed
        if cfg.get("trainer") is not None:
            merged.trainer = OmegaConf.to_container(cfg.trainer, resolve=False)
    return merged


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.ckpt`` with ``cfg.metric``; return (and write) the numbers."""
    import lightning as L
    import torch
    from hydra.utils import instantiate

    from genexp.callbacks.results import results
    from genexp.callbacks.run_results import to_plain as plain

    ckpt, run_dir = resolve_checkpoint(cfg.ckpt)
    run_cfg = evaluation_config(cfg, load_run_config(run_dir), run_dir)
    if cfg.get("num_threads"):
        torch.set_num_threads(int(cfg.num_threads))
    L.seed_everything(int(run_cfg.seed), verbose=False)
    datamodule = instantiate(run_cfg.dataset)
    model = instantiate(run_cfg.model)
    callbacks = [instantiate(node) for node in (run_cfg.get("metric") or {}).values()
                 if node is not None and "_target_" in node]
    trainer = instantiate(run_cfg.trainer, callbacks=callbacks, logger=False, enable_checkpointing=False,
                          default_root_dir=str(run_dir))
    trainer.genexp_run_dir = run_dir
    trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt), verbose=False)
    out: dict[str, Any] = {k: plain(v) for k, v in trainer.callback_metrics.items()}
    out.update({k: plain(v) for k, v in results(trainer).items()})
    out.update(ckpt=str(ckpt), metrics=list((run_cfg.get("metric") or {}).keys()))
    if trainer.global_rank == 0:
        path = run_dir / "eval_metrics.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(out, indent=2, sort_keys=True, default=str))
        tmp.replace(path)
        print(f"genexp.evaluate: {len(out)} values written to {path}")
    release_process_group()
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

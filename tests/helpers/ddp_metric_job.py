"""Run fixed sets of metric callbacks through ``trainer.test`` on N CPU processes (gloo DDP, as
``trainer=ddp_cpu``) and write rank 0's results as JSON, one entry per data kind. Used by
test_metrics_ddp.py, which starts the ranks itself (helpers/ddp_launch.py), so that one process
group runs the trainers of every ``--data`` kind in turn.

    python tests/helpers/ddp_metric_job.py --devices 2 --data images grid --out results.json --cache DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--data", choices=["images", "grid"], nargs="+", default=["images"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--cache", required=True)
    args = parser.parse_args()
    if args.devices > 1 and len(args.data) > 1 and "LOCAL_RANK" not in os.environ:
        parser.error("several --data kinds on several devices: start the ranks yourself (LOCAL_RANK)")

    import lightning as L
    import torch
    from lightning.pytorch.strategies import DDPStrategy
    from metric_fixtures import ClassImages, ImageAutoencoder, MixtureSampler

    from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
    from genexp.callbacks.clustering_metrics import ClusteringMetrics
    from genexp.callbacks.inception_metrics import InceptionMetrics
    from genexp.callbacks.latent_metrics import LatentDiagnostics
    from genexp.callbacks.toy2d_metrics import Toy2DMetrics
    from genexp.data.toy2d import Toy2DDataModule
    from genexp.run_record import run_record

    torch.set_num_threads(1)

    def fixtures(data: str) -> tuple:
        """(datamodule, model, callbacks) of one data kind."""
        if data == "images":
            # uneven chunk counts on purpose: 333 samples / 100 -> 4 chunks; 200 test rows / 64 -> 4 chunks
            callbacks = [
                InceptionMetrics(
                    metrics=["fid", "kid", "prd", "is", "prdc", "fd_inf"],
                    extractor="tiny",
                    n_samples=333,
                    batch_size=100,
                    n_reference=None,
                    cache_dir=args.cache,
                    kid_subsets=10,
                    kid_subset_size=100,
                ),
                DomainClassifierMetrics(
                    metrics=["fd", "is", "modes"],
                    n_samples=333,
                    batch_size=100,
                    epochs=2,
                    cache_dir=args.cache,
                ),
                ClusteringMetrics(batch_size=64),
                LatentDiagnostics(n_prior=250, batch_size=64),
            ]
            return ClassImages(n=400), ImageAutoencoder(cluster_shift=2), callbacks
        dm = Toy2DDataModule("grid25", n_train=500, n_val=100, n_test=2000, batch_size=100)
        dm.setup()
        model = MixtureSampler(dm.distribution.means[:18], 2 * dm.distribution.sigma)
        return dm, model, [Toy2DMetrics(n_samples=5000, batch_size=700)]

    results = {}
    for data in args.data:
        dm, model, callbacks = fixtures(data)
        for cb in callbacks:
            cb.strict = True
        strategy = (
            DDPStrategy(process_group_backend="gloo", start_method="popen") if args.devices > 1 else "auto"
        )
        trainer = L.Trainer(
            accelerator="cpu",
            devices=args.devices,
            strategy=strategy,
            logger=False,
            callbacks=callbacks,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=str(Path(args.cache) / data),
            use_distributed_sampler=False,
        )
        trainer.test(model, datamodule=dm, verbose=False)
        results[data] = {"world_size": trainer.world_size, **run_record(trainer).results}
    if trainer.global_rank == 0:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True, default=str))
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # a clean exit: no gloo threads left at shutdown


if __name__ == "__main__":
    main()

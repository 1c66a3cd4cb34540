"""The clustering baseline of spec §P2: k-means on raw pixels, scored like genexp's clustering metric.

    python scripts/kmeans_baseline.py [--dataset mnist] [--seeds 0 1 2] [--json out.json]

Uses the dataset config (e.g. MNIST 28x28 in [-1, 1], train + test = 70k images as in the MPCC
protocol), scikit-learn's KMeans (k = number of classes, n_init=10) per seed, and
:func:`genexp.metrics.clustering.clustering_scores` (Hungarian ACC, purity, NMI, ARI).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load(dataset: str, overrides: list[str]):
    """(x as an (n, d) float array, labels) of the dataset's train split with train + test merged."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from genexp.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                f"dataset={dataset}",
                "dataset.include_test_in_train=true",
                "dataset.val_size=0",
                *overrides,
            ],
        )
    node = OmegaConf.to_container(cfg.dataset, resolve=True)
    dm = instantiate(node)
    x, y = dm.get_data("train")
    return x.flatten(1).numpy(), y.numpy(), int(dm.num_classes)


def main() -> int:
    """Command-line entry point."""
    import numpy as np
    from sklearn.cluster import KMeans

    from genexp.metrics.clustering import clustering_scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("overrides", nargs="*", help="dataset overrides, e.g. dataset.image_size=28")
    args = parser.parse_args()
    x, y, k = load(args.dataset, args.overrides)
    runs = []
    for seed in args.seeds:
        started = time.process_time()
        pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
        cpu_s = round(time.process_time() - started, 1)
        smallest = float(np.bincount(pred, minlength=k).min()) / len(y)
        scores = {
            **clustering_scores(y, pred),
            "cluster_smallest_frac": smallest,
            "seed": seed,
            "cpu_s": cpu_s,
        }
        print(json.dumps(scores), flush=True)
        runs.append(scores)
    summary = {
        key: (
            statistics.fmean(r[key] for r in runs),
            statistics.stdev(r[key] for r in runs) if len(runs) > 1 else 0.0,
        )
        for key in ("cluster_acc", "cluster_purity", "cluster_nmi", "cluster_ari", "cluster_smallest_frac")
    }
    # flat keys (means over seeds) so scripts/reproduce.py reads the file like a run's metrics.json
    means = {key: value[0] for key, value in summary.items()}
    out = {**means, "dataset": args.dataset, "n": len(y), "k": k, "runs": runs, "mean_std": summary}
    print(json.dumps(out["mean_std"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

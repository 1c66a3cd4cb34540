"""The side-feature baseline of the LC-VaDE reproduction: a class-conditional Gaussian on f alone.

    python scripts/lc_feature_baseline.py [--experiment lc_vade_synthetic] [--seeds 0 1 2]
        [--json out.json] dataset.outlier_class=delta_scuti [dataset.feature_ranges=overlapping]

Per seed: the experiment's light-curve split (the same curves, protocol and standardised side
features f = (mean, std, ln period) that LC-VaDE sees), one diagonal Gaussian per inlier class
fitted to f of the training split by maximum likelihood (the family and start of LC-VaDE's
p(f|y)), score = -ln (1/K) sum_k N(f; a_k, b_k^2); AUROC / AUPRC with the held-out class as the
positive class (:func:`genexp.metrics.anomaly.anomaly_scores`). It is what a user would try first,
and it shows how much of the benchmark the side features alone solve.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load(experiment: str, overrides: list[str], seed: int):
    """The experiment's light-curve datamodule for ``seed``, set up."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from genexp.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"experiment={experiment}", *overrides, f"seed={seed}"])
    dm = instantiate(OmegaConf.to_container(cfg.dataset, resolve=True))
    dm.setup()
    return dm


def score_seed(dm) -> dict:
    """AUROC / AUPRC of the side-feature density on the datamodule's test split."""
    from genexp.data.lightcurve_packing import unpack
    from genexp.metrics.anomaly import anomaly_scores, outlier_labels
    from genexp.models.components.class_priors import class_gaussian_log_density, class_moments

    x, y = dm.get_data("train")
    xt, yt = dm.get_data("test")
    k = len(dm.class_names) - 1
    means, variances = class_moments(unpack(x).f, y, k)
    score = -class_gaussian_log_density(unpack(xt).f, means, variances)
    return {**anomaly_scores(score, outlier_labels(yt, dm.outlier_classes)), **dm.protocol}


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", default="lc_vade_synthetic")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("overrides", nargs="*", help="dataset overrides, e.g. dataset.outlier_class=w_uma")
    argv = sys.argv[1:]  # overrides (key=value) may stand before or after the options
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    args = parser.parse_args([a for a in argv if a not in overrides])
    args.overrides = overrides
    runs = []
    for seed in args.seeds:
        scores = {**score_seed(load(args.experiment, args.overrides, seed)), "seed": seed}
        print(json.dumps(scores), flush=True)
        runs.append(scores)
    # flat keys (means over seeds) so scripts/reproduce.py reads the file like a run's metrics.json
    means = {key: statistics.fmean(r[key] for r in runs) for key in ("auroc", "auprc")}
    out = {**means, "experiment": args.experiment, "overrides": args.overrides, "runs": runs}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

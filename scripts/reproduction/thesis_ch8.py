"""Thesis ch. 8: MPCC and AIM-MPCC at CPU scale (MNIST; Tables 8.4/8.5/8.7 directions; spec §P2-P3)."""

from __future__ import annotations

import functools

from .core import Claim, Column, Group, Results, Run, setting_notes
from .curves import plot_clustering_curves

COLUMNS = [
    Column("Purity %", "cluster_purity", scale=100.0, digits=1),
    Column("ACC (Hungarian) %", "cluster_acc", scale=100.0, digits=1),
    Column("NMI", "cluster_nmi"),
    Column("ARI", "cluster_ari"),
    Column("smallest cluster %", "cluster_smallest_frac", scale=100.0, digits=1),
    Column("FD (clf)", "fd_classifier", digits=1),
    Column("latent MSE", "latent_mse", digits=3),
]
MAIN = "MPCC (S)"
LOW_LR = "MPCC (S), η_p = lr"
AIM_S, AIM_NS = "AIM-MPCC (S)", "AIM-MPCC (NS)"
NS = "MPCC (NS)"
# k-means (k = 10, n_init = 10) on the raw 28x28 pixels of the same 70k images, one row per seed
KMEANS = "k-means on raw pixels (baseline)"
THESIS_ITERATIONS = 125_000  # MNIST (spec §B.2.4): the curves' log trend is projected to it


def _p2_c6(r: Results) -> tuple[bool, str]:
    p, a = r[MAIN].mean("cluster_purity"), r[MAIN].mean("cluster_acc")
    kp, ka = r[KMEANS].mean("cluster_purity"), r[KMEANS].mean("cluster_acc")
    ok = p >= 0.70 and p > kp and a > ka
    return ok, (
        f"purity {p:.3f} (needs ≥ 0.70), Hungarian ACC {a:.3f}; k-means on raw pixels: purity {kp:.3f}, "
        f"ACC {ka:.3f}"
    )


def _p2_c8(r: Results) -> tuple[bool, str]:
    s = r[MAIN].mean("cluster_smallest_frac")
    return s >= 0.02, f"smallest cluster {100 * s:.1f}% of the 70k images (mean over seeds; needs ≥ 2%)"


def _p2_c7(r: Results) -> tuple[bool, str]:
    hi, lo = r[MAIN].mean("cluster_purity"), r[LOW_LR].mean("cluster_purity")
    return hi >= lo, f"purity {hi:.3f} with the larger η_p vs {lo:.3f} with η_p = lr"


def _p3_sharing(r: Results) -> tuple[bool, str]:
    s, ns = r[AIM_S].mean("fd_classifier"), r[AIM_NS].mean("fd_classifier")
    return s <= ns, f"FD (clf) AIM-MPCC S {s:.1f} vs NS {ns:.1f}"


def _p3_prior(r: Results) -> tuple[bool, str]:
    g, n = r[MAIN].mean("fd_classifier"), r[AIM_S].mean("fd_classifier")
    return g <= n, f"FD (clf) MPCC S {g:.1f} vs AIM-MPCC S {n:.1f}"


GROUP = Group(
    title="Thesis ch. 8 — MPCC and AIM-MPCC at CPU scale (MNIST; Tables 8.4/8.5/8.7 directions)",
    experiment="mpcc_mnist_cpu",
    runs=[
        Run(MAIN, "mpcc", {}, quick=True, paper={"cluster_purity": "98.48±0.52 (125k it., ResNet, 5 runs)"}),
        Run(LOW_LR, "mpcc", {"model.prior_lr": 0.0002}),
        Run(AIM_S, "aim_mpcc", {}, quick=True, experiment="aim_mpcc_mnist_cpu"),
        Run(AIM_NS, "aim_mpcc", {"model.share_encoder": "false"}, experiment="aim_mpcc_mnist_cpu"),
        Run(NS, "mpcc", {"model.share_encoder": "false"}),
        Run(
            KMEANS,
            "",
            quick=True,
            script=["scripts/kmeans_baseline.py", "--dataset", "mnist", "dataset.image_size=28"],
        ),
    ],
    columns=COLUMNS,
    claims=[
        Claim(
            "P2-C6",
            "MPCC clusters MNIST: purity ≥ 0.70 and above k-means on raw pixels",
            (MAIN, KMEANS),
            _p2_c6,
        ),
        Claim("P2-C8", "health: every cluster holds ≥ 2% of the data", (MAIN,), _p2_c8),
        Claim(
            "P2-C7",
            "Table 8.4 direction: a larger prior learning rate η_p gives a higher accuracy",
            (MAIN, LOW_LR),
            _p2_c7,
        ),
        Claim(
            "P3-a",
            "Table 8.5 direction: sharing helps, FD(clf)(AIM-MPCC S) ≤ FD(clf)(AIM-MPCC NS)",
            (AIM_S, AIM_NS),
            _p3_sharing,
        ),
        Claim(
            "P3-b",
            "Table 8.5 direction: the GMM prior helps, FD(clf)(MPCC S) ≤ FD(clf)(AIM-MPCC S)",
            (MAIN, AIM_S),
            _p3_prior,
        ),
    ],
    quick_overrides={"model.max_iterations": 200},
    notes=setting_notes("thesis_ch8"),
    # docs/figures/thesis_ch8_curve_<row>.png: purity and Hungarian ACC on the fixed 5k subset
    # against the iteration, one line per seed
    plots=[
        functools.partial(
            plot_clustering_curves,
            labels=[MAIN, NS, LOW_LR],
            prefix="thesis_ch8_curve",
            project_to=THESIS_ITERATIONS,
        )
    ],
)

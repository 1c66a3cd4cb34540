"""SC-GAN on 2-D toys: reconstruction MSE (paper Table 1) and generation checks (SC-1; spec scgan.md §7,
§8; issue 7).

Setting (c) trains stage 1 (encoder + k-means); the (a), (b), (d) rows of the same seed load its
artefact ``<(c) run folder>/stages/encoder.pt`` (``model.stages.encoder``), so the four settings of a
dataset differ only in the generative-mode latent model. Most claims are per seed ("≥ 2 of 3 seeds")
and pair the rows' seeds."""

from __future__ import annotations

import functools

from .core import Claim, Column, Group, Results, Run, SiblingPath, setting_notes

SETTINGS = {"gaussian": "a", "centers": "b", "mapping": "c", "data": "d"}
SETS = {  # dataset -> (K, paper Table 1 reconstruction MSE for settings a, b, c, d)
    "eight_gaussians": (8, ("2.339", "0.053", "0.065", "0.016")),
    "checkerboard": (16, ("0.337", "0.034", "0.015", "0.009")),
    "four_circles": (8, ("0.031", "0.034", "0.044", "0.035")),
}

FLOOR_MSE = 0.015  # the paper's checkerboard (c) reconstruction MSE (Table 1)
FLOOR_FACTOR = 1.5  # issue 13: SC-1.2b's value within 1.5x the measured floor
FLOOR_POINTS = 1_000_000


@functools.lru_cache(maxsize=None)
def checker_floor(mse: float = FLOOR_MSE, n: int = FLOOR_POINTS) -> float:
    """Off-support fraction of ``n`` real checkerboard points blurred by N(0, mse·I) (fixed seeds):
    what a generator as precise as the paper's reconstructions still puts off the support."""
    import torch

    from genexp.data.toy_distributions import Checkerboard
    from genexp.metrics.toy2d import blurred_off_support_fraction

    real = Checkerboard().sample(n, torch.Generator().manual_seed(0))
    return blurred_off_support_fraction(real, Checkerboard.on_support, mse, seed=1)


def label(ds: str, setting: str) -> str:
    """The row label of dataset ``ds`` with latent setting ``setting``."""
    return f"{ds} ({SETTINGS[setting]}) {setting}"


def runs() -> list[Run]:
    """Every dataset x latent setting, the (c) rows first: the others reuse their stage-1 encoder."""
    out = []
    for setting in ("mapping", "gaussian", "data", "centers"):
        for ds, (k, mse) in SETS.items():
            paper = {"reconstruction_mse": f"{mse[list(SETTINGS).index(setting)]} (paper)"}
            over: dict[str, object] = {"dataset": ds, "model.num_clusters": k, "model.latent_model": setting}
            if setting != "mapping":  # same encoder and clusters as the (c) run of this seed: paired rows
                over["model.stages.encoder"] = SiblingPath(label(ds, "mapping"), "stages/encoder.pt")
            out.append(
                Run(label(ds, setting), "scgan", over, paper, quick=setting in ("mapping", "gaussian"))
            )
    return out


def two_of_three(passed: list[bool]) -> bool:
    """The spec §8 rule: at least 2 of 3 seeds (all seeds when fewer than 3 ran)."""
    return bool(passed) and sum(passed) >= min(2, len(passed))


def _seeds(r: Results, ds: str, setting: str, key: str) -> dict[int, float]:
    return r[label(ds, setting)].by_seed(key)


def _recon(r: Results) -> tuple[bool, str]:
    c = _seeds(r, "eight_gaussians", "mapping", "reconstruction_mse")
    d = _seeds(r, "eight_gaussians", "data", "reconstruction_mse")
    seeds = sorted(set(c) & set(d))
    passed = [d[s] <= 0.05 and c[s] <= 0.15 for s in seeds]
    detail = "; ".join(f"seed{s}: MSE(d) {d[s]:.4f}, MSE(c) {c[s]:.4f}" for s in seeds)
    return two_of_three(passed), f"{sum(passed)}/{len(seeds)} seeds pass ({detail})"


def _recon_ratio(r: Results) -> tuple[bool, str]:
    a = r[label("eight_gaussians", "gaussian")].mean("reconstruction_mse")
    d = r[label("eight_gaussians", "data")].mean("reconstruction_mse")
    return a >= 3 * d, f"MSE(a) {a:.4f} vs MSE(d) {d:.4f}: ratio {a / max(d, 1e-12):.1f} (paper 146)"


def _eight_generation(r: Results) -> tuple[bool, str]:
    low = _seeds(r, "eight_gaussians", "mapping", "low_density_frac")
    lo, hi = (_seeds(r, "eight_gaussians", "mapping", k) for k in ("mode_share_min", "mode_share_max"))
    seeds = sorted(low)
    passed = [low[s] <= 0.03 and lo[s] >= 0.08 and hi[s] <= 0.17 for s in seeds]
    detail = "; ".join(f"seed{s}: off-manifold {low[s]:.4f}, shares {lo[s]:.3f}–{hi[s]:.3f}" for s in seeds)
    return two_of_three(passed), f"{sum(passed)}/{len(seeds)} seeds pass ({detail})"


def _checker_generation(r: Results) -> tuple[bool, str]:
    off = _seeds(r, "checkerboard", "mapping", "off_support_frac")
    passed = [v <= 0.05 for v in off.values()]
    detail = "; ".join(f"seed{s}: {v:.4f}" for s, v in off.items())
    floor = f"blur floor at the paper's MSE {FLOOR_MSE}: {checker_floor():.4f} (see SC-1.2b floor)"
    return two_of_three(passed), f"{sum(passed)}/{len(off)} seeds pass ({detail}); {floor}"


def _checker_floor(r: Results) -> tuple[bool, str]:
    off = _seeds(r, "checkerboard", "mapping", "off_support_frac")
    floor = checker_floor()
    passed = [v <= FLOOR_FACTOR * floor for v in off.values()]
    detail = "; ".join(f"seed{s}: {v:.4f} ({v / floor:.2f}× floor)" for s, v in off.items())
    return two_of_three(passed), (
        f"{sum(passed)}/{len(off)} seeds pass; floor {floor:.4f} = off-support of {FLOOR_POINTS:,} real "
        f"points + N(0, {FLOOR_MSE}·I), so ≤ 0.05 is below what the paper's own reconstruction error "
        f"allows ({detail})"
    )


def _ordering(r: Results) -> tuple[bool, str]:
    key = {"eight_gaussians": "low_density_frac", "checkerboard": "off_support_frac"}
    passed, parts = [], []
    for ds, k in key.items():
        a, c, d = (_seeds(r, ds, s, k) for s in ("gaussian", "mapping", "data"))
        for s in sorted(set(a) & set(c) & set(d)):
            passed.append(a[s] > c[s] and d[s] <= c[s] + 0.01)
            parts.append(f"{ds} seed{s}: (a) {a[s]:.4f}, (c) {c[s]:.4f}, (d) {d[s]:.4f}")
    ok = bool(passed) and sum(passed) >= len(passed) - len(passed) // 3  # 2 of 3 seeds on both sets
    return ok, f"{sum(passed)}/{len(passed)} (dataset, seed) pairs pass ({'; '.join(parts)})"


CONTROL_SEEDS = 3  # SC-1.3 is measured over seeds 0, 1, 2 of every four-circles row


def _control(r: Results) -> tuple[bool, str]:
    rows = {s: r[label("four_circles", s)] for s in SETTINGS}
    mses = {s: row.mean("reconstruction_mse") for s, row in rows.items()}
    ratio = max(mses.values()) / max(min(mses.values()), 1e-12)
    text = ", ".join(f"({SETTINGS[s]}) {v:.4f}" for s, v in mses.items())
    seeds = min(len(row.by_seed("reconstruction_mse")) for row in rows.values())
    enough = seeds >= CONTROL_SEEDS
    note = "" if enough else f"; only {seeds} seed(s) per row, the claim needs {CONTROL_SEEDS}"
    per_seed = "; ".join(
        f"({SETTINGS[s]}) {[round(v, 4) for v in row.values('reconstruction_mse')]}"
        for s, row in rows.items()
    )
    return ratio <= 2.0 and enough, f"MSE {text}; max/min {ratio:.2f} (per seed: {per_seed}){note}"


GROUP = Group(
    source="paper",
    title="SC-GAN — reconstruction MSE (paper Table 1) and generation checks on 2-D toys (SC-1, CPU scale)",
    experiment="scgan_toy",
    runs=runs(),
    columns=[
        Column("recon MSE", "reconstruction_mse", digits=4),
        Column("off-manifold (8G: low density)", "low_density_frac", digits=4),
        Column("off-support (checkerboard)", "off_support_frac", digits=4),
        Column("min mode share", "mode_share_min", digits=3),
        Column("max mode share", "mode_share_max", digits=3),
    ],
    claims=[
        Claim(
            "SC-1.1",
            "Eight Gaussians: MSE(d) ≤ 0.05 and MSE(c) ≤ 0.15 on ≥ 2 of 3 seeds",
            (label("eight_gaussians", "mapping"), label("eight_gaussians", "data")),
            _recon,
        ),
        Claim(
            "SC-1.1b",
            "directional (not fatal): Eight Gaussians MSE(a) ≥ 3 × MSE(d) (means)",
            (label("eight_gaussians", "gaussian"), label("eight_gaussians", "data")),
            _recon_ratio,
        ),
        Claim(
            "SC-1.2a",
            "Eight Gaussians (c): off-manifold ≤ 0.03 and every mode 0.08–0.17 of samples, ≥ 2 of 3 seeds",
            (label("eight_gaussians", "mapping"),),
            _eight_generation,
        ),
        Claim(
            "SC-1.2b",
            "Checkerboard (c): off-support ≤ 0.05 on ≥ 2 of 3 seeds",
            (label("checkerboard", "mapping"),),
            _checker_generation,
        ),
        Claim(
            "SC-1.2b floor",
            f"Checkerboard (c): off-support ≤ {FLOOR_FACTOR} × the blur floor (real data + Gaussian noise "
            f"of the paper's MSE {FLOOR_MSE}) on ≥ 2 of 3 seeds; a check beside SC-1.2b, not a replacement",
            (label("checkerboard", "mapping"),),
            _checker_floor,
        ),
        Claim(
            "SC-1.2c",
            "both disconnected sets: off-manifold (a) > (c) and (d) ≤ (c) + 0.01, ≥ 2 of 3 seeds each",
            tuple(
                label(ds, s)
                for ds in ("eight_gaussians", "checkerboard")
                for s in ("gaussian", "mapping", "data")
            ),
            _ordering,
        ),
        Claim(
            "SC-1.3",
            "control: Four circles MSE (a)–(d) within a factor 2 of each other (means over seeds 0, 1, 2)",
            tuple(label("four_circles", s) for s in SETTINGS),
            _control,
        ),
    ],
    quick_overrides={"trainer.max_steps": 2000, "model.encoder.steps": 500, "model.mappers.steps": 300},
    figures={
        f"scgan_toy_{ds}_{SETTINGS[setting]}.png": label(ds, setting) for ds in SETS for setting in SETTINGS
    },
    notes=setting_notes("scgan_toy"),
)

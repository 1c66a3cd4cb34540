"""PGMGAN on the 2-D grid and ring (PGM-1; spec pgmgan.md §7 "2D toy", §8 checks; issue 7).

Claims a-c are about every seed or the median seed, so they read the per-seed results."""

from __future__ import annotations

import statistics

from .core import Check, Claim, Column, Group, Results, Run, setting_notes

COLUMNS = [
    Column("modes", "modes", digits=1),
    Column("HQ %", "hq_pct", digits=2),
    Column("reverse KL (ln)", "reverse_kl", digits=4),
    Column("min mode share", "mode_share_min", digits=4),
    Column("rejection accept", "rejection_accept", digits=3),
]
SETS = {"grid25": (25, "99.8", "0.0034"), "ring8": (8, "99.8", "0.0006")}  # modes, paper HQ %, reverse KL
# a set's own experiment config (the group's is pgm_toy): ring8 runs the official widths and lr (issue 13)
EXPERIMENTS = {"ring8": "pgm_ring8"}


def pgm_label(ds: str) -> str:
    """The PGMGAN row of toy set ``ds``."""
    return f"PGMGAN {ds}"


def gan_label(ds: str) -> str:
    """The plain-GAN row (same nets, one part, no guide) of toy set ``ds``."""
    return f"GAN {ds} (same nets, k=1, λ=0)"


def runs() -> list[Run]:
    """PGMGAN and the plain GAN of the same nets (k = 1, λ = 0) on each toy."""
    out = []
    for ds, (m, hq, rkl) in SETS.items():
        paper = {"modes": f"{m} (paper)", "hq_pct": f"{hq} (paper)", "reverse_kl": f"{rkl} (paper)"}
        pgm = {"dataset": ds, "model.num_partitions": m}
        gan = {"dataset": ds, "model.num_partitions": 1, "model.guide_weight": 0}
        exp = EXPERIMENTS.get(ds)  # ring8: its own recipe, for both rows (same nets)
        out.append(Run(pgm_label(ds), "pgmgan", pgm, paper, quick=True, experiment=exp))
        out.append(Run(gan_label(ds), "pgmgan", gan, quick=ds == "grid25", experiment=exp))
    return out


def _per_seed(r: Results, ds: str) -> tuple[list[float], list[float], list[float]]:
    row = r[pgm_label(ds)]
    return row.values("reverse_kl"), row.values("modes"), row.values("hq_pct")


def every_seed(ds: str) -> Check:
    """Every PGMGAN seed: reverse KL < 0.01, at least all modes but one, HQ ≥ 90 %."""

    def check(r: Results) -> tuple[bool, str]:
        rkl, modes, hq = _per_seed(r, ds)
        ok = max(rkl) < 0.01 and min(modes) >= SETS[ds][0] - 1 and min(hq) >= 90.0
        hq_text = [round(v, 2) for v in hq]
        return ok, f"per seed: reverse KL {[round(v, 4) for v in rkl]}, modes {modes}, HQ % {hq_text}"

    return check


def median_seed(ds: str) -> Check:
    """The median PGMGAN seed finds every mode with HQ ≥ 99 %."""

    def check(r: Results) -> tuple[bool, str]:
        row = r[pgm_label(ds)]
        modes, hq = row.median("modes"), row.median("hq_pct")
        return modes == SETS[ds][0] and hq >= 99.0, f"median modes {modes:g}, median HQ {hq:.2f} %"

    return check


def spec8(ds: str) -> Check:
    """Spec §8: every seed reverse KL < 0.01, all modes, HQ ≥ 80 %."""

    def check(r: Results) -> tuple[bool, str]:
        rkl, modes, hq = _per_seed(r, ds)
        ok = max(rkl) < 0.01 and min(modes) == SETS[ds][0] and min(hq) >= 80.0
        return ok, f"worst seed: reverse KL {max(rkl):.4f}, modes {min(modes):g}, HQ {min(hq):.2f} %"

    return check


def gan_gap(ds: str) -> Check:
    """The plain GAN's mean reverse KL ≥ 0.1 (per seed in the detail)."""

    def check(r: Results) -> tuple[bool, str]:
        gan = r[gan_label(ds)].values("reverse_kl")
        pgm = r[pgm_label(ds)].mean("reverse_kl")
        mean = statistics.fmean(gan)
        per_seed = [round(v, 4) for v in gan]
        times = mean / max(pgm, 1e-12)
        return mean >= 0.1, f"GAN reverse KL per seed {per_seed} (mean {mean:.4f}; {times:.0f}× PGMGAN's)"

    return check


def claims() -> list[Claim]:
    """Claims a-d for each toy set."""
    out = []
    for ds, (total, _, _) in SETS.items():
        pgm, gan = pgm_label(ds), gan_label(ds)
        out += [
            Claim(
                f"PGM-1 {ds} a",
                f"every PGMGAN seed: reverse KL < 0.01, modes ≥ {total - 1}, HQ ≥ 90 %",
                (pgm,),
                every_seed(ds),
            ),
            Claim(
                f"PGM-1 {ds} b",
                f"median PGMGAN seed: {total} modes and HQ ≥ 99 % (issue 7; paper 99.8 %)",
                (pgm,),
                median_seed(ds),
            ),
            Claim(
                f"PGM-1 {ds} c",
                f"spec §8: every seed reverse KL < 0.01, all {total} modes, HQ ≥ 80 %",
                (pgm,),
                spec8(ds),
            ),
            Claim(
                f"PGM-1 {ds} d",
                "the plain GAN of the same nets has reverse KL ≥ 0.1 (mean over seeds)",
                (pgm, gan),
                gan_gap(ds),
            ),
        ]
    return out


GROUP = Group(
    source="paper",
    title="PGMGAN — 2-D grid and ring (PGM-1, paper App. C.1 at CPU scale)",
    experiment="pgm_toy",
    runs=runs(),
    columns=COLUMNS,
    claims=claims(),
    quick_overrides={"trainer.max_steps": 4000, "model.guide_anneal_steps": 2000},
    figures={
        f"pgmgan_toy_{ds}_{kind}.png": label
        for ds in SETS
        for kind, label in (("pgmgan", pgm_label(ds)), ("gan", gan_label(ds)))
    },
    notes=setting_notes("pgmgan_toy"),
)

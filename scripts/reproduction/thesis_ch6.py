"""Thesis ch. 6: Table 6.4 at CPU scale (MNIST, J = 10; spec thesis.md §P1 claims C1-C5, and G1-G4
on the GAN models AIM, ALI, ALICE and Veegan, spec §A.5-A.6)."""

from __future__ import annotations

from typing import Optional

from .core import Claim, Column, Group, Results, Run, paper_rows, setting_notes

COLUMNS = [
    Column("LL in X", "log_mse_x"),
    Column("LL in Z", "log_mse_z"),
    Column("D_KL^Z", "kl_z"),
    Column("D_KL^VAE", "kl_vae"),
    Column("Ĩ_q", "mi_q"),
    Column("h_q(z|x)", "h_q_zx"),
    Column("IS (clf)", "is_classifier"),
    Column("FD (clf)", "fd_classifier", digits=1),
    Column("Acc %", "linear_probe_acc", scale=100.0),
]

# Table 6.4 of the thesis (MNIST, J = 10, 3 runs), in COLUMNS order (spec thesis.md §R).
THESIS_TABLE_6_4 = """
VAE β=0.33       | −4.57±0.02 | −3.73±0.12 | 0.10±0.03  | 27.76±0.18 | 27.68±0.15  | −13.44±0.07 | 8.95±0.01 | 223.76±8.52    | 91.37±0.73
VAE β=1          | −4.43±0.02 | −3.62±0.08 | 0.19±0.09  | 20.94±0.21 | 20.72±0.21  | −6.89±0.14  | 9.36±0.02 | 105.89±2.75    | 87.86±0.60
VAE β=30 (β-VAE) | −1.90±0.01 | −0.34±0.01 | 34.52±1.15 | 1.18±0.05  | −33.32±1.17 | 12.98±0.01  | 3.03±0.07 | 4714.07±75.28  | 56.06±1.50
WVAE β=0.33      | −4.66±0.02 | −3.51±0.06 | 0.03±0.00  | 62.26±0.52 | 62.28±0.52  | −48.14±0.52 | 8.59±0.04 | 351.22±5.04    | 93.63±0.47
WVAE β=1         | −4.64±0.03 | −3.50±0.03 | 0.16±0.06  | 62.69±0.26 | 62.72±0.25  | −48.88±0.32 | 8.62±0.03 | 342.92±13.82   | 94.00±0.13
WVAE β=30        | −4.61±0.01 | −3.09±0.01 | 0.14±0.01  | 62.70±0.33 | 62.71±0.33  | −48.86±0.34 | 8.19±0.13 | 518.53±30.97   | 93.50±0.28
MMD β=0.33       | −4.71±0.04 | −0.74±0.02 | 2.01±0.02  | 85.04±1.21 | 65.82±0.35  | −43.40±0.33 | 6.45±0.14 | 1483.71±103.37 | 94.86±0.02
MMD β=1          | −4.68±0.01 | −1.28±0.07 | 1.73±0.02  | 74.43±0.74 | 64.97±0.29  | −44.60±0.40 | 6.76±0.33 | 1151.08±135.75 | 94.45±0.24
MMD β=30         | −4.67±0.01 | −3.50±0.12 | 0.37±0.03  | 63.80±0.50 | 63.44±0.53  | −48.89±0.40 | 8.27±0.08 | 461.61±20.17   | 93.86±0.57
JS-VAE β=0.33    | −4.59±0.02 | −3.31±0.18 | 0.12±0.02  | 61.58±0.47 | 61.58±0.46  | −47.09±0.43 | 8.43±0.02 | 436.72±5.33    | 93.86±0.04
JS-VAE β=1       | −4.56±0.02 | −3.27±0.07 | 0.01±0.00  | 61.64±0.56 | 61.67±0.56  | −47.45±0.58 | 8.49±0.09 | 403.08±18.21   | 92.68±0.41
JS-VAE β=30      | −3.49±0.64 | −1.89±0.71 | 0.07±0.02  | 67.25±6.78 | 67.26±6.78  | −52.89±6.73 | 8.07±0.03 | 815.19±213.64  | 80.32±8.62
AIM              | −3.05±0.01 | −2.48±0.01 | 1.36±0.19  | 10.58±0.09 | 9.70±0.06   | 3.06±0.23   | 9.79±0.01 | 25.92±1.62     | 88.83±0.79
Veegan           | −2.54±0.07 | −1.73±0.11 | 1.09±0.15  | 9.94±0.18  | 8.91±0.25   | 4.09±0.22   | 9.72±0.02 | 38.63±6.12     | 81.35±6.30
ALI              | −1.54±0.37 | −0.33±0.17 | 27.63±38.14 | 21.92±16.17 | −5.58±53.86 | −7.65±15.94 | 8.82±1.24 | 388.02±465.66 | 51.73±28.48
ALICE            | −3.04±0.14 | −1.84±0.20 | 0.50±0.07  | 15.00±0.62 | 14.42±0.69  | −0.89±0.76  | 9.69±0.02 | 46.62±2.70     | 89.13±0.54
"""  # noqa: E501

T64 = paper_rows(THESIS_TABLE_6_4, COLUMNS)
# (label, model config, beta, in the --quick subset); the first six are what the claims need.
SPECS = [
    ("VAE β=1", "vae", 1.0, True),
    ("VAE β=30 (β-VAE)", "vae", 30.0, True),
    ("WVAE β=1", "wvae", 1.0, True),
    ("WVAE β=30", "wvae", 30.0, True),
    ("JS-VAE β=1", "jsvae", 1.0, True),
    ("MMD β=1", "mmdvae", 1.0, True),
    ("WVAE β=0.33", "wvae", 0.33, False),
    ("VAE β=0.33", "vae", 0.33, False),
    ("JS-VAE β=0.33", "jsvae", 0.33, False),
    ("JS-VAE β=30", "jsvae", 30.0, False),
    ("MMD β=0.33", "mmdvae", 0.33, False),
    ("MMD β=30", "mmdvae", 30.0, False),
]
# The GAN models (label, model config), all in the --quick subset (claims G1-G4 need them): the
# same data, MLP nets and epochs in configs/experiment/thesis_ch6_cpu_gan.yaml.
GAN_SPECS = [("AIM", "aim"), ("ALI", "ali"), ("ALICE", "alice"), ("Veegan", "veegan")]


def _acc(r: Results, label: str) -> float:
    return 100.0 * r[label].mean("linear_probe_acc")


def _c1(r: Results) -> tuple[bool, str]:
    a, b = _acc(r, "WVAE β=1"), _acc(r, "VAE β=1")
    return (
        a >= b + 2.0,
        f"Acc WVAE β=1 {a:.2f} vs VAE β=1 {b:.2f} (difference {a - b:+.2f} points; needs ≥ +2)",
    )


def _c2(r: Results) -> tuple[bool, str]:
    w, v = r["WVAE β=1"], r["VAE β=1"]
    wi, vi, wh, vh = w.mean("mi_q"), v.mean("mi_q"), w.mean("h_q_zx"), v.mean("h_q_zx")
    return (
        wi > vi and wh < vh,
        f"Ĩ_q {wi:.2f} vs {vi:.2f}; h_q(z|x) {wh:.2f} vs {vh:.2f} (WVAE β=1 vs VAE β=1)",
    )


def _c3(r: Results) -> tuple[bool, str]:
    kl = r["VAE β=30 (β-VAE)"].mean("kl_vae")
    drop = _acc(r, "VAE β=1") - _acc(r, "VAE β=30 (β-VAE)")
    return (
        kl < 3.0 and drop >= 15.0,
        f"D_KL^VAE(VAE β=30) {kl:.2f} nats (needs < 3); Acc drop vs β=1 {drop:.2f} points (needs ≥ 15)",
    )


def _c4(r: Results) -> tuple[bool, str]:
    v, w = r["VAE β=1"].mean("fd_classifier"), r["WVAE β=1"].mean("fd_classifier")
    return v < w, f"FD(clf) VAE β=1 {v:.1f} vs WVAE β=1 {w:.1f}"


def _c4b(r: Results) -> tuple[bool, str]:
    w, d = r["WVAE β=1"].mean("fd_classifier"), r["MMD β=1"].mean("fd_classifier")
    return w < d, f"FD(clf) WVAE β=1 {w:.1f} vs MMD β=1 {d:.1f}"


def _c5(r: Results) -> tuple[bool, str]:
    a, b = _acc(r, "WVAE β=1"), _acc(r, "WVAE β=30")
    return abs(
        a - b
    ) <= 2.0, f"Acc WVAE β=1 {a:.2f} vs β=30 {b:.2f} (|difference| {abs(a - b):.2f}; needs ≤ 2)"


def _g1(r: Results) -> tuple[bool, str]:
    a, v = r["AIM"].mean("fd_classifier"), r["VAE β=1"].mean("fd_classifier")
    return a < v, f"FD(clf) AIM {a:.1f} vs VAE β=1 {v:.1f}"


def _g2(r: Results) -> tuple[bool, str]:
    w = _acc(r, "WVAE β=1")
    others = {label: _acc(r, label) for label in ("AIM", "ALICE", "Veegan")}
    listed = ", ".join(f"{label} {a:.2f}" for label, a in others.items())
    return all(w > a for a in others.values()), f"Acc WVAE β=1 {w:.2f} vs {listed}"


def _g3(r: Results) -> tuple[Optional[bool], str]:
    spread = {label: 100.0 * row.std("linear_probe_acc") for label, row in r.items() if len(row) > 1}
    if "ALI" not in spread:
        return None, f"ALI has {len(r['ALI'])} seed(s): a spread needs ≥ 2"
    rest = {label: s for label, s in spread.items() if label != "ALI"}
    top = max(rest, key=rest.get) if rest else None
    largest = f"; the next largest: {top} {rest[top]:.2f}" if top else " (no other row with ≥ 2 seeds)"
    return bool(rest) and all(spread["ALI"] > s for s in rest.values()), (
        f"std of Acc over seeds: ALI {spread['ALI']:.2f} points{largest}"
    )


def _g4(r: Results) -> tuple[bool, str]:
    a, c, w = (r[label].mean("mi_q") for label in ("AIM", "ALICE", "WVAE β=1"))
    return min(a, w) < c < max(a, w), f"Ĩ_q AIM {a:.2f}, ALICE {c:.2f}, WVAE β=1 {w:.2f}"


CLAIMS = [
    Claim("C1", "representation: Acc(WVAE β=1) ≥ Acc(VAE β=1) + 2 points", ("WVAE β=1", "VAE β=1"), _c1),
    Claim(
        "C2",
        "mutual information: Ĩ_q(WVAE) > Ĩ_q(VAE) and h_q(z|x)(WVAE) < h_q(z|x)(VAE)",
        ("WVAE β=1", "VAE β=1"),
        _c2,
    ),
    Claim(
        "C3",
        "collapse: VAE β=30 has D_KL^VAE < 3 nats and Acc ≥ 15 points below β=1",
        ("VAE β=1", "VAE β=30 (β-VAE)"),
        _c3,
    ),
    Claim("C4", "trade-off: FD(clf)(VAE β=1) < FD(clf)(WVAE β=1)", ("VAE β=1", "WVAE β=1"), _c4),
    Claim("C4b", "softer: FD(clf)(WVAE β=1) < FD(clf)(MMD β=1)", ("WVAE β=1", "MMD β=1"), _c4b),
    Claim(
        "C5", "β-insensitivity: |Acc(WVAE β=1) − Acc(WVAE β=30)| ≤ 2 points", ("WVAE β=1", "WVAE β=30"), _c5
    ),
    Claim("G1", "generation: FD(clf)(AIM) < FD(clf)(VAE β=1)", ("AIM", "VAE β=1"), _g1),
    Claim(
        "G2",
        "representation: Acc(WVAE β=1) > Acc of AIM, ALICE and Veegan",
        ("WVAE β=1", "AIM", "ALICE", "Veegan"),
        _g2,
    ),
    Claim(
        "G3",
        "instability: ALI's across-seed std of Acc is the largest of all rows",
        ("ALI", "AIM", "ALICE", "Veegan", "VAE β=1", "WVAE β=1"),
        _g3,
    ),
    Claim(
        "G4",
        "mutual information: Ĩ_q(ALICE) between Ĩ_q(AIM) and Ĩ_q(WVAE β=1)",
        ("AIM", "ALICE", "WVAE β=1"),
        _g4,
    ),
]

GROUP = Group(
    title="Thesis ch. 6 — Table 6.4 at CPU scale (MNIST, J = 10)",
    experiment="thesis_ch6_cpu",
    runs=[Run(lab, model, {"model.beta": beta}, T64[lab], quick) for lab, model, beta, quick in SPECS]
    + [Run(lab, model, {}, T64[lab], True, experiment="thesis_ch6_cpu_gan") for lab, model in GAN_SPECS],
    columns=COLUMNS,
    claims=CLAIMS,
    quick_overrides={"trainer.max_epochs": 2},
    notes=setting_notes("thesis_ch6"),
)

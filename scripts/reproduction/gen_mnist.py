"""GEN-3 on MNIST: GEN vs a plain autoencoder vs an AAE (spec gen.md §5.2, §8C; paper Table 2; issue 6)."""

from __future__ import annotations

from .core import Claim, Column, Group, Results, Run, setting_notes

MAIN, AE, AAE = "GEN (λ = 1, k_b = 1)", "plain AE (λ = 0)", "AAE (β = 0.01)"


def _entropy(r: Results) -> tuple[bool, str]:
    gap, ref = r[MAIN].mean("latent_entropy_gap"), r[MAIN].mean("latent_entropy_normal_ref")
    return (
        abs(gap) <= 0.1,
        f"GEN entropy {r[MAIN].mean('latent_entropy'):.3f} vs N(0, I) reference {ref:.3f} (gap {gap:.3f})",
    )


def _above_ae(r: Results) -> tuple[bool, str]:
    g, a = r[MAIN].mean("latent_entropy"), r[AE].mean("latent_entropy")
    return g - a > 1.0, f"GEN {g:.3f} vs plain AE {a:.3f} (+{g - a:.3f} nats)"


def _variance(r: Results) -> tuple[bool, str]:
    v, target = r[MAIN].mean("latent_var_mean"), r[MAIN].mean("latent_stationary_var")
    return abs(v - target) <= 0.1, f"mean per-dimension code variance {v:.3f} vs 1 − h² = {target:.3f}"


def _recon(r: Results) -> tuple[bool, str]:
    g, a = r[MAIN].mean("recon_mse"), r[AE].mean("recon_mse")
    return g <= 1.5 * a, f"test MSE GEN {g:.4f} vs plain AE {a:.4f} ({g / a:.2f}×)"


def _vs_aae(r: Results) -> tuple[bool, str]:
    g, a = r[MAIN], r[AAE]
    gf, af = g.mean("fd_classifier"), a.mean("fd_classifier")
    return gf < af, (
        f"FD (clf) GEN {gf:.1f} vs AAE {af:.1f}; entropy GEN "
        f"{g.mean('latent_entropy'):.3f} vs AAE {a.mean('latent_entropy'):.3f}"
    )


GROUP = Group(
    source="paper",
    title="GEN-3 on MNIST — GEN vs plain autoencoder vs AAE (paper Table 2 at CPU scale)",
    experiment="gen_mnist_cpu",
    runs=[
        Run(MAIN, "gen", quick=True),
        Run(AE, "gen", {"model.beta": 0}, quick=True),
        Run(AAE, "aae", experiment="aae_mnist_cpu"),
    ],
    columns=[
        Column("latent entropy", "latent_entropy", digits=3),
        Column("N(0, I) ref", "latent_entropy_normal_ref", digits=3),
        Column("gap to ref", "latent_entropy_gap", digits=3),
        Column("mean per-dim var", "latent_var_mean", digits=3),
        Column("1 − h²", "latent_stationary_var", digits=3),
        Column("‖mean‖", "latent_mean_norm", digits=3),
        Column("recon MSE", "recon_mse", digits=4),
        Column("FD (clf)", "fd_classifier", digits=1),
    ],
    claims=[
        Claim(
            "GEN-3a",
            "GEN's whitened code entropy within 0.1 nats of the N(0, I) reference",
            (MAIN,),
            _entropy,
        ),
        Claim("GEN-3b", "GEN's code entropy > the plain AE's by > 1 nat", (MAIN, AE), _above_ae),
        Claim("GEN-3c", "GEN's per-dimension code variance within 0.1 of 1 − h²", (MAIN,), _variance),
        Claim("GEN-3d", "GEN's test MSE within 1.5× the plain AE's", (MAIN, AE), _recon),
        Claim("GEN-3e", "GEN has a lower FD (clf) than the AAE", (MAIN, AAE), _vs_aae),
    ],
    quick_overrides={"trainer.max_epochs": 1},
    notes=setting_notes("gen_mnist"),
)

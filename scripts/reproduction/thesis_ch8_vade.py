"""Thesis ch. 7-8: VaDE at CPU scale (MNIST; the Table 8.7 VaDE entry; spec §P4)."""

from __future__ import annotations

from .core import Claim, Column, Group, Results, Run, setting_notes
from .thesis_ch8 import COLUMNS


def _p4(r: Results) -> tuple[bool, str]:
    acc = r["VaDE"].mean("cluster_acc")
    return acc >= 0.80, f"Hungarian ACC {acc:.3f} (needs ≥ 0.80)"


GROUP = Group(
    title="Thesis ch. 7-8 — VaDE at CPU scale (MNIST; the Table 8.7 VaDE entry)",
    experiment="vade_mnist_cpu",
    runs=[Run("VaDE", "vade", {}, quick=True, paper={"cluster_acc": "94.46 (best of ≥ 10, 300 epochs)"})],
    columns=COLUMNS[:5] + [Column("ELBO (nats)", "elbo", digits=1)],
    claims=[
        Claim(
            "P4",
            "VaDE's Hungarian ACC ≥ 0.80 after pretraining + joint training in about 10 CPU min",
            ("VaDE",),
            _p4,
        ),
    ],
    quick_overrides={"trainer.max_epochs": 2, "model.pretrain_epochs": 1},
    notes=setting_notes("thesis_ch8_vade"),
)

"""Resume continues the same run: N/2 steps + resume + N/2 steps ends with the same weights and the
same logged losses as N straight (bit-identical on the CPU), for an autoencoder, an adversarial
(manual-optimisation) model and a staged model, at an epoch boundary and mid-epoch."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from helpers.cli import run_genexp

COMMON = ["dataset=digits", "logger=csv", "metric=none", "num_threads=1", "trainer.max_epochs=-1"]
COMMON += [
    "trainer.log_every_n_steps=1",
    "trainer.check_val_every_n_epoch=1",
    "callbacks.sample_figures.n_images=4",
]
MODELS = {
    "vae": ["model=vae"],
    "gan": ["model=gan"],
    "vade": [
        "model=vade",
        "model.pretrain_epochs=1",
        "model.encoder.hidden=[32]",
        "model.decoder.hidden=[32]",
    ],
}
# digits: 1500 training images, batch 64 -> 23 batches per epoch (drop_last); the GAN takes two
# optimizer steps (D, G) per batch: (split, total) in optimizer steps, two epochs in all
SPLITS = {
    "epoch boundary": {"vae": (23, 46), "gan": (46, 92), "vade": (23, 46)},
    "mid-epoch": {"vae": (10, 46), "gan": (30, 92), "vade": (10, 46)},
}


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)[
        "state_dict"
    ]


def _losses(run_dir: Path) -> dict[int, str]:
    """step -> the logged training loss(es) of that step, as written (exact text)."""
    out: dict[int, str] = {}
    for path in sorted((run_dir / "csv").rglob("metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                vals = {k: v for k, v in row.items() if k.startswith("train/") and v not in ("", None)}
                if vals:
                    out[int(row["step"])] = repr(sorted(vals.items()))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("model", list(MODELS))
def test_half_resume_half_equals_straight(tmp_path: Path, model: str, split: str) -> None:
    half, total = SPLITS[split][model]
    args = [*MODELS[model], *COMMON]
    straight = run_genexp(tmp_path, *args, f"trainer.max_steps={total}", run_dir=tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = run_genexp(tmp_path, *args, f"trainer.max_steps={half}", run_dir=tmp_path / "resumed")
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    resumed = run_genexp(
        tmp_path, f"resume={ckpt}", f"trainer.max_steps={total}", run_dir=tmp_path / "resumed"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.metrics()["global_step"] == straight.metrics()["global_step"]
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"
    curve_a, curve_b = _losses(tmp_path / "straight"), _losses(tmp_path / "resumed")
    assert len(curve_a) >= total // 2
    assert list(curve_a.values()) == list(curve_b.values())  # the same losses in the same order
    assert curve_a == curve_b  # ... at the same logging steps

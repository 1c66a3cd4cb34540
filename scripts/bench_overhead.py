"""genexp's per-step overhead against its peers: the default VAE through a plain PyTorch loop,
through genexp, and through pythae 0.1.2's ``TrainingPipeline``, in one process.

All three train the same MLP VAE (784-512-256-16 encoder, mirrored decoder, Adam 1e-3, batch 128,
one torch thread on this machine) for the same number of epochs on MNIST's 55k training images
held in memory, and evaluate the 5k validation images once per epoch. Each repeat runs every side
once, the order rotated from repeat to repeat, so that machine noise hits all alike; the figure
is each side's time per optimizer step over the plain loop's in the same repeat, reported as the
median and the spread (min-max) over the repeats.

Timing boundary, the same for all three: from the first training batch to the end of the last
epoch (after its validation). So one-off set-up (building the model, the logger's start, pythae's
data checks) and what follows the last epoch (final checkpoint, figures, metrics, pythae's final
model save) are excluded; what happens inside training is included: the plain loop's validation;
genexp's default logger (wandb, offline), default callbacks (checkpoints, NaN guard, timer,
progress bar, scalar history) and validation (genexp's ``train_loop_s``); pythae's default
callbacks (progress bar, metric printer), evaluation and best-model copy (``bench_pythae.py``).
pythae is installed by the script into the ignored folder ``.bench_peers`` (never a dependency
of genexp). ``--sides`` picks the sides; ``lightning`` adds genexp with Lightning's own
optimisation step (``GenerativeModule.lean_steps = False``), the path before the lean one.

    python scripts/bench_overhead.py [--epochs 2] [--repeats 3] [--sides genexp,pythae,lightning]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any, Callable

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genexp.config import CONFIG_DIR, register_resolvers, resolve_num_threads  # noqa: E402


def plain_vae() -> tuple[nn.Module, nn.Module]:
    """The same encoder/decoder shapes as configs/model/vae.yaml with latent_dim 16."""
    enc = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 32)
    )
    dec = nn.Sequential(
        nn.Linear(16, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Tanh()
    )
    return enc, dec


def vae_loss(enc: nn.Module, dec: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sum-of-squares reconstruction + KL to N(0, I), batch mean."""
    mu, logvar = enc(x).chunk(2, dim=1)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    rec = (dec(z).view_as(x) - x).pow(2).flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    return (rec + kl).mean()


def run_plain(
    train_u8: torch.Tensor, val_u8: torch.Tensor, epochs: int, batch: int, device: str = "cpu"
) -> tuple[float, int]:
    """Train with a bare loop on ``device`` (the data moved there once); return (seconds,
    optimizer steps)."""
    torch.manual_seed(0)
    enc, dec = (m.to(device) for m in plain_vae())
    train_u8, val_u8 = train_u8.to(device), val_u8.to(device)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    decode = lambda u8: u8.float().div(127.5).sub(1.0)  # noqa: E731
    steps = 0
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(train_u8), device=device)
        for b in range(len(train_u8) // batch):
            x = decode(train_u8[perm[b * batch : (b + 1) * batch]])
            loss = vae_loss(enc, dec, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
        with torch.no_grad():
            for b in range(0, len(val_u8), 512):
                vae_loss(enc, dec, decode(val_u8[b : b + 512]))
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, steps


def compose_job(overrides: list[str], run_dir: Path, config_name: str = "train") -> Any:
    """The job config of ``python -m genexp <overrides>`` (``genexp.evaluate`` for
    ``config_name="evaluate"``) with its run folder at ``run_dir``, and Hydra's runtime config set
    as the CLI sets it (so :func:`genexp.train.train` runs in-process)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return OmegaConf.create({k: v for k, v in cfg.items() if k != "hydra"})


def run_genexp(epochs: int, out_dir: Path, overrides: list[str] | None = None) -> tuple[float, int]:
    """Train the default experiment through the CLI's code path (default logger and callbacks);
    ``overrides`` replaces the default ``trainer.max_epochs=<epochs> metric=none test_after_fit=false``."""
    from genexp.train import train

    run_dir = out_dir / f"genexp_{time.time_ns()}"
    job = compose_job(
        overrides or [f"trainer.max_epochs={epochs}", "metric=none", "test_after_fit=false"], run_dir
    )
    results = train(job, run_dir)
    return float(results["train_loop_s"]), int(results["fit_steps"])


Side = Callable[[], tuple[float, int]]
"""One side of a comparison: trains once and returns (seconds, steps) inside the timing boundary."""


def alternate(sides: dict[str, Side], repeats: int) -> list[dict[str, tuple[float, int]]]:
    """Run every side once per repeat, rotating the order each repeat; one {side: (s, steps)} per
    repeat."""
    names, rows = list(sides), []
    for r in range(repeats):
        row: dict[str, tuple[float, int]] = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            row[name] = sides[name]()
            print(f"repeat {r}: {name}: {row[name][1]} steps in {row[name][0]:.2f} s", flush=True)
        rows.append(row)
    return rows


def ratio_summary(rows: list[dict[str, tuple[float, int]]], baseline: str = "plain") -> dict[str, Any]:
    """Per side: ms per step in each repeat, and the time-per-step ratio to ``baseline`` in the same
    repeat, with its median, min and max over the repeats."""
    out: dict[str, Any] = {}
    for name in rows[0]:
        per_step = [1e3 * row[name][0] / max(row[name][1], 1) for row in rows]
        base = [1e3 * row[baseline][0] / max(row[baseline][1], 1) for row in rows]
        ratios = [a / b for a, b in zip(per_step, base)]
        out[name] = {
            "ms_per_step": [round(v, 3) for v in per_step],
            "steps": [row[name][1] for row in rows],
            "ratio": [round(v, 3) for v in ratios],
            "ratio_median": round(median(ratios), 3),
            "ratio_min": round(min(ratios), 3),
            "ratio_max": round(max(ratios), 3),
        }
    return out


def print_table(summary: dict[str, Any], baseline: str = "plain") -> None:
    """The summary as a text table: ms per step per repeat, and the ratio to ``baseline``."""
    print(f"\n{'side':<28} {'ms per step (each repeat)':<30} time per step / {baseline}: median [min-max]")
    for name, row in summary.items():
        per_step = " ".join(f"{v:.2f}" for v in row["ms_per_step"])
        spread = f"{row['ratio_median']:.3f} [{row['ratio_min']:.3f}-{row['ratio_max']:.3f}]"
        print(f"{name:<28} {per_step:<30} {spread}")


def lightning_step(side: Side) -> Side:
    """``side`` with genexp's models on Lightning's own optimisation step (no lean path)."""
    from genexp.models.base import GenerativeModule

    def run() -> tuple[float, int]:
        GenerativeModule.lean_steps = False
        try:
            return side()
        finally:
            GenerativeModule.lean_steps = True

    return run


def setup_process() -> None:
    """What every benchmark process sets: offline wandb, the CPU runtime check, genexp's threads."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    # what a plain PyTorch program (without Lightning imported) has; genexp sets it for CPU runs.
    # Lightning sets it to 1 when first imported (torch's Adam then probes NVML at every step), so
    # import it first: otherwise the sides that run before genexp's first run would pay for it
    import lightning  # noqa: F401

    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "0"
    register_resolvers()
    threads = resolve_num_threads("auto")
    if threads:
        torch.set_num_threads(threads)


def main() -> None:
    """Alternate plain loop / genexp / pythae and print the time-per-step ratios to the plain loop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=None, help="first N training images (default all)")
    parser.add_argument("--sides", default="genexp,pythae", help="besides plain: genexp, pythae, lightning")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = set(chosen) - {"genexp", "pythae", "lightning"}
    if unknown:
        parser.error(f"unknown --sides {sorted(unknown)}; choose from genexp, pythae, lightning")
    setup_process()

    from genexp.data.torchvision_sets import MNISTDataModule

    dm = MNISTDataModule(
        name="mnist", root=str(ROOT / "data"), shape=[1, 28, 28], value_range=[-1, 1], num_classes=10
    )
    dm.setup()
    train_u8, val_u8 = dm.split("train")[0][: args.n_train], dm.split("val")[0]
    overrides = [f"trainer.max_epochs={args.epochs}", "metric=none", "test_after_fit=false"]
    overrides += [f"dataset.n_train={args.n_train}"] if args.n_train else []
    with tempfile.TemporaryDirectory() as tmp:
        sides: dict[str, Side] = {"plain": lambda: run_plain(train_u8, val_u8, args.epochs, args.batch)}
        if "genexp" in chosen:
            sides["genexp"] = lambda: run_genexp(args.epochs, Path(tmp), overrides)
        if "lightning" in chosen:
            step = lightning_step(lambda: run_genexp(args.epochs, Path(tmp), overrides))
            sides["genexp (Lightning's step)"] = step
        if "pythae" in chosen:
            from bench_pythae import ensure_pythae, run_pythae

            version = ensure_pythae()
            print(f"pythae {version} from {ROOT / '.bench_peers'}", flush=True)
            train_x, val_x = dm.decode_batch(train_u8), dm.decode_batch(val_u8)
            sides["pythae"] = lambda: run_pythae(train_x, val_x, args.epochs, args.batch, 512)
        summary = ratio_summary(alternate(sides, args.repeats))
    result = {
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "batch": args.batch,
        "sides": summary,
    }
    print_table(summary)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""genexp's per-step overhead: the default VAE through genexp vs a plain PyTorch loop.

Both train the same MLP VAE (784-512-256-16 encoder, mirrored decoder, Adam 1e-3, batch 128) for
the same number of epochs on MNIST held in memory, in this one process, alternating
plain / genexp / plain / genexp ... so that machine noise hits both alike. genexp runs with its
default logger (wandb, offline) and default callbacks (checkpoints, sample figures, NaN guard,
progress bar); the plain loop also computes the validation loss once per epoch. Only the fit
is timed (data loading and end-of-run metrics are excluded on both sides).

    python scripts/bench_overhead.py [--epochs 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

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


def run_plain(train_u8: torch.Tensor, val_u8: torch.Tensor, epochs: int, batch: int) -> tuple[float, int]:
    """Train with a bare loop; return (seconds, optimizer steps)."""
    torch.manual_seed(0)
    enc, dec = plain_vae()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    decode = lambda u8: u8.float().div(127.5).sub(1.0)  # noqa: E731
    steps = 0
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(train_u8))
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
    return time.perf_counter() - start, steps


def run_genexp(epochs: int, out_dir: Path, overrides: list[str] | None = None) -> tuple[float, int]:
    """Train the default experiment through the CLI's code path (default logger and callbacks);
    ``overrides`` replaces the default ``trainer.max_epochs=<epochs> metric=none test_after_fit=false``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    from genexp.train import train

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=overrides or [f"trainer.max_epochs={epochs}", "metric=none", "test_after_fit=false"],
            return_hydra_config=True,
        )
    run_dir = out_dir / f"genexp_{time.time_ns()}"
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    job = OmegaConf.create({k: v for k, v in cfg.items() if k != "hydra"})
    results = train(job, run_dir)
    return float(results["train_loop_s"]), int(results["fit_steps"])


def main() -> None:
    """Alternate the two runs and print samples/s and the time-per-step ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    # what a plain PyTorch program (without Lightning imported) has; genexp sets it for CPU runs
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "0"
    register_resolvers()
    threads = resolve_num_threads("auto")
    if threads:
        torch.set_num_threads(threads)

    from genexp.data.torchvision_sets import MNISTDataModule

    dm = MNISTDataModule(
        name="mnist", root=str(ROOT / "data"), shape=[1, 28, 28], value_range=[-1, 1], num_classes=10
    )
    dm.setup()
    train_u8, val_u8 = dm.split("train")[0], dm.split("val")[0]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            p_s, p_n = run_plain(train_u8, val_u8, args.epochs, args.batch)
            g_s, g_n = run_genexp(args.epochs, Path(tmp))
            rows.append({"plain_s": p_s, "plain_steps": p_n, "genexp_s": g_s, "genexp_steps": g_n})
            print(f"repeat {r}: plain {p_n} steps {p_s:.1f}s | genexp {g_n} steps {g_s:.1f}s", flush=True)
    plain_sps = sum(r["plain_steps"] for r in rows) * args.batch / sum(r["plain_s"] for r in rows)
    genexp_sps = sum(r["genexp_steps"] for r in rows) * args.batch / sum(r["genexp_s"] for r in rows)
    ratio = plain_sps / genexp_sps
    summary = {
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "repeats": rows,
        "plain_samples_per_s": round(plain_sps, 1),
        "genexp_samples_per_s": round(genexp_sps, 1),
        "time_per_step_ratio_genexp_over_plain": round(ratio, 3),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""Timings of the GPU check: the default MNIST VAE under genexp against a plain PyTorch loop
(:mod:`bench_overhead`'s two sides, on one device, paired and alternating), Inception feature
extraction at a few batch sizes in fp32 and bf16 autocast, and one FID of generated images."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import torch
from bench_metrics import embed
from bench_overhead import compose_job, run_genexp, run_plain

from genexp.metrics import extraction, fidelity, weight_files
from genexp.metrics.frechet import frechet_distance, gaussian_fit
from gpu_checks.runs import save_run_config

RANDOM_INCEPTION = "genexp-inception-v3-random"


class RandomInceptionV3(fidelity.OfflineInceptionV3):
    """torch-fidelity's FID Inception with its default (random) initialisation: the same network
    and cost, for timing where the weights file is absent. Built from an empty state dict."""

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False) -> Any:
        """Keep the random initialisation when given an empty state dict."""
        if not state_dict:
            return None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


fidelity.register(RANDOM_INCEPTION, RandomInceptionV3)


def inception(weights: Path, device: str, feature_layer: str = "2048") -> tuple[Any, Any, str]:
    """(extractor on ``device``, its spec, what weights it has): the real FID Inception when
    ``weights`` is usable, else the same architecture at random weights."""
    problem = weight_files.inception_weights_problem(weights)
    if problem is None:
        spec, label = fidelity.inception_spec(str(weights)), f"real ({weights.name})"
    else:
        empty = Path(tempfile.mkdtemp()) / "empty_state_dict.pt"
        torch.save({}, empty)
        spec = dataclasses.replace(fidelity.inception_spec(str(empty)), name=RANDOM_INCEPTION)
        label = "random weights (same architecture; weights file absent)"
    spec = dataclasses.replace(spec, feature_layer=feature_layer)
    return fidelity.make_extractor(spec, [feature_layer], device), spec, label


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def inception_throughput(
    extractor: Any, spec: Any, device: str, batch_sizes: list[int], n_batches: int
) -> list[dict[str, Any]]:
    """Images/s of feature extraction (:mod:`genexp.metrics.extraction`, as the metric callbacks
    run it) on 28x28 grey images, uint8 RGB resized to 299x299 inside, per memory layout
    (contiguous, channels_last), autocast (fp32, bf16) and batch size; one warm-up batch each."""
    rows = []
    for channels_last in (False, True):
        extractor.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        for autocast in ("none", "bf16"):
            for batch in batch_sizes:
                settings = extraction.ExtractionSettings(batch, channels_last, autocast)
                x = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1
                embed(extractor, spec, x, settings)
                _sync(device)
                start = time.perf_counter()
                for _ in range(n_batches):
                    embed(extractor, spec, x, settings)
                _sync(device)
                rate = batch * n_batches / (time.perf_counter() - start)
                rows.append(
                    {
                        "layout": "channels_last" if channels_last else "contiguous",
                        "dtype": "bf16" if autocast == "bf16" else "fp32",
                        "batch": batch,
                        "images_per_s": round(rate, 1),
                    }
                )
    return rows


def generated_fid(run_dir: Path, extractor: Any, spec: Any, device: str, n: int) -> dict:
    """FID between ``n`` samples of the model in ``<run_dir>/checkpoints/last.ckpt`` (built from
    the run's ``.hydra/config.yaml``) and ``n`` test images of its dataset; times each part."""
    from genexp.config import load_run_config
    from genexp.train import instantiate

    job = load_run_config(run_dir)
    ckpt = Path(run_dir) / "checkpoints" / "last.ckpt"
    model = instantiate(job.model, "model")
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"])
    model.to(device).eval()
    datamodule = instantiate(job.dataset, "dataset")
    datamodule.setup()
    real = datamodule.get_data("test", n)[0].to(device)
    start = time.perf_counter()
    with torch.no_grad():
        generated = model.sample_batched(len(real))
    t_sample = time.perf_counter() - start
    settings = extraction.ExtractionSettings(min(500, len(real)), True, "none")
    extraction.prepare(extractor, settings)
    start = time.perf_counter()
    feats_gen = embed(extractor, spec, generated.to(device), settings)
    feats_real = embed(extractor, spec, real, settings)
    _sync(device)
    t_features = time.perf_counter() - start
    start = time.perf_counter()
    value = frechet_distance(*gaussian_fit(feats_gen), *gaussian_fit(feats_real))
    return {
        "dataset": str(job.dataset.name),
        "extraction": settings.protocol(),
        "n_generated": len(generated),
        "n_real": len(real),
        "feature_layer": spec.feature_layer,
        "fid": round(value, 4),
        "sample_s": round(t_sample, 3),
        "features_s": round(t_features, 3),
        "frechet_s": round(time.perf_counter() - start, 3),
    }


def mnist_u8(root: Path, n_train: Optional[int], val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The uint8 train and val images of genexp's MNIST with these split sizes."""
    from genexp.data.torchvision_sets import MNISTDataModule

    dm = MNISTDataModule(
        root=str(root), shape=[1, 28, 28], value_range=[-1, 1], n_train=n_train, val_size=val_size
    )
    dm.setup()
    return dm.split("train")[0], dm.split("val")[0]


def overhead(
    device: str,
    out_dir: Path,
    data_root: Path,
    epochs: int,
    repeats: int,
    n_train: Optional[int],
    val_size: int,
    extra: list[str],
) -> dict[str, Any]:
    """The default MNIST VAE under genexp (default callbacks, ``logger=csv``, ``trainer=gpu`` on
    CUDA) against :func:`bench_overhead.run_plain` on the same device: one untimed warm-up of the
    plain loop, then ``repeats`` pairs plain/genexp. The figure is genexp's time per step over the
    plain loop's. Returns the rows, the ratio, and the last genexp run's folder (with its config)."""
    batch = 128
    train_u8, val_u8 = mnist_u8(data_root, n_train, val_size)
    run_plain(train_u8[: 4 * batch], val_u8[:batch], 1, batch, device)
    overrides = [
        f"trainer={'gpu' if device.startswith('cuda') else 'cpu'}",
        "logger=csv",
        f"trainer.max_epochs={epochs}",
        "metric=none",
        "test_after_fit=false",
        f"dataset.val_size={val_size}",
        *([f"dataset.n_train={n_train}"] if n_train else []),
        *extra,
    ]
    rows = []
    for _ in range(repeats):
        p_s, p_n = run_plain(train_u8, val_u8, epochs, batch, device)
        g_s, g_n = run_genexp(epochs, out_dir, overrides)
        rows.append({"plain_s": p_s, "plain_steps": p_n, "genexp_s": g_s, "genexp_steps": g_n})
    per_step = lambda side: sum(r[f"{side}_s"] for r in rows) / sum(r[f"{side}_steps"] for r in rows)  # noqa: E731
    last = max(out_dir.glob("genexp_*"), key=lambda p: p.stat().st_mtime)
    save_run_config(compose_job(overrides, last), last)
    return {
        "overrides": " ".join(overrides),
        "repeats": rows,
        "plain_ms_per_step": round(1000 * per_step("plain"), 3),
        "genexp_ms_per_step": round(1000 * per_step("genexp"), 3),
        "ratio": round(per_step("genexp") / per_step("plain"), 3),
        "run_dir": str(last),
    }

"""Time FID (offline Inception weights) and fd_classifier on MNIST-size images on this machine.

FID is timed as genexp's callbacks compute it with cached real statistics: embed the generated
images (uint8 RGB, TF1-style bilinear resize to 299x299, Inception pool3) and compute the Fréchet
distance to the cached reference. Three extraction paths (:mod:`genexp.metrics.extraction`) are
timed on the same ``3 x --n`` images: ``--n`` MNIST test images ("generated"), the same with
Gaussian noise of 40 grey levels ("noisy", seed 1: a stand-in for a poor generator) and ``--n``
MNIST train images (reference); the paths are fp32 contiguous (the baseline), fp32 channels_last
(genexp's default) and bf16 autocast. The time per image is extrapolated linearly to
``--n-total`` (measured when ``--n >= --n-total``). Parity against the baseline: the largest
feature difference relative to the largest feature (channels_last: at most 1e-5) and |ΔFID| / FID
of the generated and noisy sets against the reference (bf16: at most 1e-3). fd_classifier (the
MNIST MLP classifier of ``metric=fd_classifier``) is timed on ``--n-total`` images directly; its
one-off training time is reported separately.

    python scripts/bench_metrics.py --n 500 --n-total 10000 --write-docs
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genexp.metrics import classifier_extractor as ce
from genexp.metrics import extraction, fidelity, weight_files
from genexp.metrics.frechet import frechet_distance, gaussian_fit

WEIGHTS = ROOT / "assets" / "pt_inception-2015-12-05-6726825d.pth"
VARIANTS = {  # label -> (channels_last, autocast)
    "fp32 contiguous (baseline)": (False, "none"),
    "fp32 channels_last (default)": (True, "none"),
    "bf16 autocast, channels_last": (True, "bf16"),
}
FEATURE_TOL, FID_REL_TOL = 1e-5, 1e-3


def mnist_splits(
    n_test: int,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor], str]:
    """((train x, y), (test x, y), source): MNIST in [-1, 1] if present, else random labelled images."""
    try:
        from genexp.data.torchvision_sets import MNISTDataModule

        dm = MNISTDataModule(root=str(ROOT / "data"), shape=(1, 28, 28), value_range=(-1.0, 1.0))
        dm.setup()
        return (
            dm.get_data("train"),
            dm.get_data("test", n_test),
            "MNIST (test images stand in for generated ones)",
        )
    except Exception as err:  # noqa: BLE001 - any missing-data problem: fall back to noise
        print(f"MNIST unavailable ({err}); timing on random 28x28 images", file=sys.stderr)
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(n_test + 20000, 1, 28, 28, generator=gen) * 2 - 1
        y = torch.randint(0, 10, (len(x),), generator=gen)
        return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test]), "random 28x28 images"


def embed(extractor, spec, x: torch.Tensor, settings: extraction.ExtractionSettings, threads: int = 0):
    """Features of ``x`` (in [-1, 1]), prepared and batched exactly as the callbacks do it."""
    x = fidelity.to_uint8_rgb(x, (-1.0, 1.0)) if spec.input == "uint8_rgb" else x
    return extraction.run_batches(extractor, x, settings, threads)[spec.feature_layer]


def timed_fd(extractor, spec, x_gen: torch.Tensor, ref_stats, batch: int) -> tuple[float, float, float]:
    """(embedding seconds, Fréchet seconds, value) for generated images against cached statistics."""
    t0 = time.perf_counter()
    feats = embed(extractor, spec, x_gen, extraction.ExtractionSettings(batch, False))
    t_embed = time.perf_counter() - t0
    t0 = time.perf_counter()
    value = frechet_distance(*gaussian_fit(feats), *ref_stats)
    return t_embed, time.perf_counter() - t0, value


def fit_and_frechet_seconds(n: int, dim: int, seed: int = 0) -> float:
    """Seconds to fit a Gaussian to ``n`` generated ``dim``-d features and take its Fréchet distance
    to full-rank cached statistics (what 10k Inception features give)."""
    gen = torch.Generator().manual_seed(seed)
    ref = gaussian_fit(torch.randn(max(n, 2 * dim), dim, generator=gen, dtype=torch.float64))
    feats = (0.5 + torch.randn(n, dim, generator=gen)).float()
    t0 = time.perf_counter()
    frechet_distance(*gaussian_fit(feats), *ref)
    return time.perf_counter() - t0


def noisy(x: torch.Tensor, sigma: float = 40.0, seed: int = 1) -> torch.Tensor:
    """uint8 images plus Gaussian noise of ``sigma`` grey levels (per RGB channel), clamped and rounded."""
    gen = torch.Generator().manual_seed(seed)
    return (x.float() + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 255).round().to(torch.uint8)


def bench_fid(
    x_gen: torch.Tensor, x_ref: torch.Tensor, n_total: int, batch: int, weights: Path, threads: int
) -> list[dict]:
    """Inception FID per extraction path: features of the generated, noisy and reference sets timed
    (seconds per image over all three) and extrapolated to ``n_total`` generated images, plus the
    Gaussian fit + Fréchet step timed on ``n_total`` 2048-d features; parity against the first
    (baseline) path."""
    spec = fidelity.inception_spec(str(weights))
    gen8, ref8 = fidelity.to_uint8_rgb(x_gen, (-1.0, 1.0)), fidelity.to_uint8_rgb(x_ref, (-1.0, 1.0))
    sets = (gen8, noisy(gen8), ref8)
    t_frechet = fit_and_frechet_seconds(n_total, 2048)
    rows: list[dict] = []
    for label, (channels_last, autocast) in VARIANTS.items():
        settings = extraction.ExtractionSettings(batch, channels_last, autocast)
        t0 = time.perf_counter()
        extractor = extraction.prepare(fidelity.make_extractor(spec, [spec.feature_layer]), settings)
        t_load = time.perf_counter() - t0
        extraction.run_batches(extractor, gen8[:2], settings, threads)  # warm-up
        t0 = time.perf_counter()
        feats = [extraction.run_batches(extractor, x, settings, threads)["2048"] for x in sets]
        per_img = (time.perf_counter() - t0) / sum(len(x) for x in sets)
        print(f"{label}: {per_img:.3f} s/image", file=sys.stderr, flush=True)
        row = {
            "variant": label,
            "n": len(x_gen),
            "load_s": t_load,
            "per_image_s": per_img,
            "frechet_s": t_frechet,
            "n_total": n_total,
            "total_s": t_load + per_img * n_total + t_frechet,
            "measured": len(x_gen) >= n_total,
            "fid": frechet_distance(*gaussian_fit(feats[0]), *gaussian_fit(feats[2])),
            "fid_noisy": frechet_distance(*gaussian_fit(feats[1]), *gaussian_fit(feats[2])),
            "features": feats,
        }
        base = rows[0] if rows else row
        diff = max(float((a - b).abs().max()) for a, b in zip(feats, base["features"]))
        row["feature_rel_diff"] = diff / max(float(f.abs().max()) for f in base["features"])
        row["fid_rel_diff"] = abs(row["fid"] - base["fid"]) / abs(base["fid"])
        row["fid_noisy_rel_diff"] = abs(row["fid_noisy"] - base["fid_noisy"]) / abs(base["fid_noisy"])
        rows.append(row)
    for row in rows:
        del row["features"]
    return rows


def parity(row: dict) -> str:
    """The parity cell of one FID row: the bound that applies to its path, and whether it holds."""
    if row["variant"] == next(iter(VARIANTS)):
        return f"baseline (FID {row['fid']:.4g}; noisy {row['fid_noisy']:.4g})"
    feat, fids = row["feature_rel_diff"], (row["fid_rel_diff"], row["fid_noisy_rel_diff"])
    fid_text = f"ΔFID/FID = {fids[0]:.1e} (noisy {fids[1]:.1e})"
    if "bf16" in row["variant"]:
        verdict = "holds" if max(fids) <= FID_REL_TOL else "FAILS"
        return f"{fid_text}, bound {FID_REL_TOL:g}: {verdict}; max Δfeature / max feature {feat:.1e}"
    verdict = "holds" if feat <= FEATURE_TOL else "FAILS"
    return f"max Δfeature / max feature = {feat:.1e}, bound {FEATURE_TOL:g}: {verdict}; {fid_text}"


def bench_fd_classifier(train: tuple, test: tuple, x_ref: torch.Tensor, epochs: int) -> dict:
    """MNIST MLP classifier: one-off training, then features + Fréchet on all of ``test``'s images."""
    config = ce.classifier_config([1, 28, 28], 10, per_channel=False, epochs=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clf.pt"
        t0 = time.perf_counter()
        info = ce.fit_and_save(path, config, train, test, "mnist")
        t_train = time.perf_counter() - t0
        spec = ce.classifier_spec(path, config)
        t0 = time.perf_counter()
        extractor = fidelity.make_extractor(spec, ["features"])
        t_load = time.perf_counter() - t0
        ref_stats = gaussian_fit(embed(extractor, spec, x_ref, extraction.ExtractionSettings(1000, False)))
        t_embed, t_frechet, fd = timed_fd(extractor, spec, test[0], ref_stats, 1000)
    return {
        "n": len(test[0]),
        "train_s": t_train,
        "test_acc": info["test_acc"],
        "n_train": info["n_train"],
        "epochs": epochs,
        "load_s": t_load,
        "embed_s": t_embed,
        "frechet_s": t_frechet,
        "total_s": t_load + t_embed + t_frechet,
        "fd": fd,
    }


def report(fid: list[dict] | None, fdc: dict, command: str, threads: int, source: str, weights: Path) -> str:
    """The ``## Metrics`` section of docs/benchmarks.md."""
    cpu = platform.processor() or platform.machine()
    lines = [
        "## Metrics",
        "",
        (
            f"`{command}` on this machine ({cpu}, {extraction.machine_cores()} cores, {threads} torch "
            f"thread(s) for feature extraction, CPU only; torch {torch.__version__}). Inputs: {source}, "
            "28x28 grey. Real-data statistics are cached (genexp computes them once per "
            "dataset/split/extractor/protocol), so a metric costs the generated images' features plus "
            "one Fréchet distance."
        ),
        "",
        f"| metric | extraction | measured on | s/image | time for {fdc['n']} generated images "
        "| parity vs the baseline |",
        "|---|---|---|---|---|---|",
    ]
    if fid:
        for row in fid:
            how = "measured" if row["measured"] else f"extrapolated linearly from {3 * row['n']} images"
            lines.append(
                f"| FID, offline Inception (`{weights.name}`), 2048-d pool3, 299x299 | {row['variant']} "
                f"| 3 x {row['n']} images (generated, noisy, reference) | {row['per_image_s']:.3f} "
                f"| **≈ {row['total_s'] / 60:.1f} min** ({how}; incl. {row['frechet_s']:.1f} s fit + "
                f"Fréchet of {row['n_total']} x 2048, {row['load_s']:.1f} s loading) | {parity(row)} |"
            )
    else:
        lines.append(f"| FID, offline Inception | – | not run: no weights at {weights} | – | – | – |")
    lines.append(
        f"| fd_classifier, MNIST MLP (784-256-256-10, test acc {fdc['test_acc']:.4f}), 256-d features "
        f"| fp32 | {fdc['n']} images | {fdc['embed_s'] / fdc['n']:.1e} | **{fdc['total_s']:.1f} s** "
        f"(measured: {fdc['embed_s']:.2f} s features + {fdc['frechet_s']:.2f} s fit + Fréchet) | – |"
    )
    lines += [
        "",
        (
            f"The classifier is trained once per dataset and cached: {fdc['train_s']:.0f} s here "
            f"({fdc['epochs']} epochs on {fdc['n_train']} training images)."
        ),
        (
            "genexp's Inception metrics use fp32 channels_last, `extract_batch_size: 32` and all cores "
            "during extraction by default (`channels_last`, `autocast`, `extract_batch_size`, "
            "`extract_threads` in `configs/metric/{fid,kid,prd,is}.yaml`, recorded in the protocol); "
            "`autocast=bf16` is opt-in."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the ``## Metrics`` section of ``path``, leaving other sections alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Metrics\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run both benchmarks, print (and optionally write) the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=500, help="generated (and as many reference) images embedded per path"
    )
    parser.add_argument(
        "--n-total", type=int, default=10000, help="images FID is extrapolated to / fd_classifier uses"
    )
    parser.add_argument("--threads", default="auto", help="torch threads: auto (all cores) or a number")
    parser.add_argument("--batch-size", type=int, default=32, help="Inception batch")
    parser.add_argument("--epochs", type=int, default=10, help="classifier training epochs")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--write-docs", action="store_true", help="update the ## Metrics section of docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    threads = extraction.resolve_threads(args.threads)
    torch.set_num_threads(threads)
    train, test, source = mnist_splits(max(args.n_total, args.n))
    fdc = bench_fd_classifier(train, test, train[0][: args.n_total], args.epochs)
    print(f"fd_classifier: {fdc}")
    fid = None
    problem = weight_files.inception_weights_problem(args.weights)
    if problem is None:
        fid = bench_fid(
            test[0][: args.n], train[0][: args.n], args.n_total, args.batch_size, args.weights, threads
        )
        for row in fid:
            print(f"FID: {row}")
    else:
        print(f"FID skipped: {problem}")
    command = "python scripts/bench_metrics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = report(fid, fdc, command.strip(), threads, source, args.weights)
    print(section)
    if args.write_docs:
        write_section(ROOT / "docs" / "benchmarks.md", section)


if __name__ == "__main__":
    main()

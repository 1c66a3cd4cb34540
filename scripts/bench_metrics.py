"""Time FID (offline Inception weights) and fd_classifier on MNIST-size images on this machine.

FID is timed as genexp's callbacks compute it with cached real statistics: embed the generated
images (uint8 RGB, TF1-style bilinear resize to 299x299, Inception pool3) and compute the Fréchet
distance to the cached reference. Inception on the CPU costs a fraction of a second per image, so
``--n`` images are embedded and the time is extrapolated linearly to ``--n-total`` (both reported).
fd_classifier (the MNIST MLP classifier of ``metric=fd_classifier``) is fast enough to time on
``--n-total`` images directly; its one-off training time is reported separately.

    python scripts/bench_metrics.py --n 300 --n-total 10000 --write-docs
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
from genexp.metrics import fidelity, weight_files
from genexp.metrics.frechet import frechet_distance, gaussian_fit

WEIGHTS = ROOT / "assets" / "pt_inception-2015-12-05-6726825d.pth"


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


def embed(extractor, spec, x: torch.Tensor, batch: int) -> torch.Tensor:
    """Features of ``x`` in batches, prepared exactly as the callbacks prepare them."""
    out = []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        xb = fidelity.to_uint8_rgb(xb, (-1.0, 1.0)) if spec.input == "uint8_rgb" else xb
        out.append(fidelity.extract(extractor, xb)[spec.feature_layer])
    return torch.cat(out)


def timed_fd(extractor, spec, x_gen: torch.Tensor, ref_stats, batch: int) -> tuple[float, float, float]:
    """(embedding seconds, Fréchet seconds, value) for generated images against cached statistics."""
    t0 = time.perf_counter()
    feats = embed(extractor, spec, x_gen, batch)
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


def bench_fid(x_gen: torch.Tensor, n_total: int, batch: int, weights: Path) -> dict:
    """Inception FID: features measured on ``len(x_gen)`` images and extrapolated to ``n_total``;
    the Gaussian fit + Fréchet step timed on ``n_total`` 2048-d features."""
    spec = fidelity.inception_spec(str(weights))
    t0 = time.perf_counter()
    extractor = fidelity.make_extractor(spec, [spec.feature_layer])
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = embed(extractor, spec, x_gen, batch)
    t_embed = time.perf_counter() - t0
    assert feats.shape == (len(x_gen), 2048)
    t_frechet = fit_and_frechet_seconds(n_total, 2048)
    per_img = t_embed / len(x_gen)
    return {
        "n": len(x_gen),
        "load_s": t_load,
        "embed_s": t_embed,
        "per_image_s": per_img,
        "frechet_s": t_frechet,
        "n_total": n_total,
        "extrapolated_s": t_load + per_img * n_total + t_frechet,
    }


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
        ref_stats = gaussian_fit(embed(extractor, spec, x_ref, 1000))
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


def report(fid: dict | None, fdc: dict, threads: int, source: str, weights: Path) -> str:
    """The ``## Metrics`` section of docs/benchmarks.md."""
    cpu = platform.processor() or platform.machine()
    lines = [
        "## Metrics",
        "",
        (
            f"`python scripts/bench_metrics.py --n {fid['n'] if fid else 0} "
            f"--n-total {fdc['n']} --threads {threads}`"
            f" on this machine ({cpu}, {torch.get_num_threads()} torch thread(s), CPU only; "
            f"torch {torch.__version__}). Inputs: {source}, 28x28 grey. Real-data statistics are cached "
            "(genexp computes them once per dataset/split/extractor/protocol), so "
            "a metric costs the generated "
            "images' features plus one Fréchet distance."
        ),
        "",
        f"| metric | measured on | measured time | time for {fdc['n']} generated images |",
        "|---|---|---|---|",
    ]
    if fid:
        lines.append(
            f"| FID, offline Inception (`{weights.name}`), 2048-d pool3, 299x299 | {fid['n']} images "
            f"| {fid['embed_s']:.1f} s features ({fid['per_image_s']:.3f} s/image) "
            f"+ {fid['frechet_s']:.1f} s "
            f"fit + Fréchet ({fid['n_total']} x 2048) + {fid['load_s']:.1f} s "
            f"loading | **≈ {fid['extrapolated_s'] / 60:.0f} min** "
            f"(extrapolated linearly from {fid['n']} images) |"
        )
    else:
        lines.append(f"| FID, offline Inception | – | not run: no weights at {weights} | – |")
    lines.append(
        f"| fd_classifier, MNIST MLP (784-256-256-10, test acc {fdc['test_acc']:.4f}), 256-d features | "
        f"{fdc['n']} images | {fdc['embed_s']:.2f} s features + {fdc['frechet_s']:.2f} s fit + Fréchet "
        f"+ {fdc['load_s']:.2f} s loading | **{fdc['total_s']:.1f} s** (measured) |"
    )
    lines += [
        "",
        (
            f"The classifier is trained once per dataset and cached: {fdc['train_s']:.0f} s here "
            f"({fdc['epochs']} epochs on {fdc['n_train']} training images)."
        ),
    ]
    if fid:
        lines.append(
            "Inception FID on this CPU is therefore a run-end metric (about "
            f"{fid['per_image_s'] * 1000 / 60:.1f} min "
            "per 1000 images); `metric=default` only adds it on a GPU, and periodic FID during CPU training "
            "should use a few hundred samples or `fd_classifier`."
        )
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


def main() -> None:
    """Parse flags, run both benchmarks, print (and optionally write) the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=300, help="generated images embedded with Inception (measured)"
    )
    parser.add_argument(
        "--n-total", type=int, default=10000, help="images FID is extrapolated to / fd_classifier uses"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=50, help="Inception batch")
    parser.add_argument("--epochs", type=int, default=10, help="classifier training epochs")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--write-docs", action="store_true", help="update the ## Metrics section of docs/benchmarks.md"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, test, source = mnist_splits(args.n_total)
    fdc = bench_fd_classifier(train, test, train[0][: args.n_total], args.epochs)
    print(f"fd_classifier: {fdc}")
    fid = None
    if weight_files.inception_weights_problem(args.weights) is None:
        fid = bench_fid(test[0][: args.n], args.n_total, args.batch_size, args.weights)
        print(f"FID: {fid}")
    else:
        print(f"FID skipped: {weight_files.inception_weights_problem(args.weights)}")
    section = report(fid, fdc, args.threads, source, args.weights)
    print(section)
    if args.write_docs:
        write_section(ROOT / "docs" / "benchmarks.md", section)


if __name__ == "__main__":
    main()

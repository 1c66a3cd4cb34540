"""The GPU check: every genexp model in fp32 and bf16-mixed, DDP with one device, the evaluate
entry point, genexp's per-step overhead against a plain loop, Inception throughput and one FID,
in one process; one JSON and one markdown section (docs/gpu.md) with the machine and versions.

    python scripts/gpu_check.py --install-kit .device_kit --out $OUT   # on the GPU machine (make gpu-check)
    python scripts/gpu_check.py --device cpu --quick                   # the same path on the CPU, small
    python scripts/gpu_check.py --render <out>/gpu_check.json          # rewrite docs/gpu.md's section

On the GPU machine, ``--install-kit DIR`` first installs the kit's wheels (``pip install --no-deps
--no-index``, see scripts/pack_device_kit.py) into ``--site`` and unpacks its MNIST. Each run is
in-process (:func:`genexp.train.train`, ``logger=csv``); a failing run is recorded and the check
goes on; past ``--budget-s`` the remaining runs are skipped. Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "scripts", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# standard library only: these run before genexp's dependencies can be imported
from gpu_checks import kit, report  # noqa: E402

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--quick", action="store_true", help="2 steps per model, tiny timings (for CI)")
    p.add_argument("--models", nargs="*", default=None, help="a subset of configs/model (default: all)")
    p.add_argument("--precisions", nargs="*", default=["32-true", "bf16-mixed"])
    p.add_argument("--steps", type=int, default=None, help="optimizer steps per model (default 30; quick 2)")
    p.add_argument("--budget-s", type=float, default=420.0, help="skip what is left after this many seconds")
    p.add_argument("--out", type=Path, default=None, help="gpu_check.json, gpu_check.md, failed logs")
    p.add_argument("--work", type=Path, default=None, help="run folders and logs (default: a temp folder)")
    p.add_argument("--install-kit", type=Path, default=None, help="install this packed kit first")
    p.add_argument("--site", type=Path, default=Path(tempfile.gettempdir()) / "genexp-kit-site")
    p.add_argument("--vae-overrides", nargs="*", default=[], help="extra overrides of the overhead run")
    p.add_argument("--write-docs", action="store_true", help="also rewrite docs/gpu.md's section")
    p.add_argument("--render", type=Path, default=None, help="only rewrite docs/gpu.md from this JSON")
    return p.parse_args(argv)


def prepare_kit(args: argparse.Namespace, work: Path) -> dict:
    """Install the kit (when asked) and point genexp at its MNIST; what was done."""
    info: dict = {"installed": [], "mnist": None}
    if args.install_kit is None and importlib.util.find_spec("omegaconf") is None and kit.KIT_DIR.is_dir():
        print(f"gpu_check: genexp's dependencies are missing; installing the kit in {kit.KIT_DIR}")
        args.install_kit = kit.KIT_DIR
    if args.install_kit is not None:
        info["installed"] = kit.install(args.install_kit, args.site)
        if "GENEXP_DATA" not in os.environ and not (ROOT / "data" / "MNIST" / "raw").is_dir():
            data = kit.unpack_mnist(args.install_kit, work / "data")
            if data is not None:
                os.environ["GENEXP_DATA"] = str(data)
                info["mnist"] = str(data)
    return info


def timed_parts(args: argparse.Namespace, settings, ddp: dict) -> tuple[dict, dict]:
    """The overhead pair and the Inception/FID timings, each guarded like a run."""
    from gpu_checks import runs, timing

    quick, device = args.quick, settings.device
    data_root = Path(os.environ.get("GENEXP_DATA", ROOT / "data"))
    has_mnist = all((data_root / "MNIST" / "raw" / f).is_file() for f in kit.MNIST_FILES)
    state: dict = {}

    def overhead_body(run_dir: Path) -> dict:
        if not has_mnist:
            why = f"no MNIST under {data_root} (make assets, or a kit with MNIST)"
            return {"status": "skipped", "error": why}
        sizes = (
            dict(epochs=1, repeats=1, n_train=512, val_size=256)
            if quick
            else dict(epochs=2, repeats=3, n_train=None, val_size=5000)
        )
        out = timing.overhead(device, run_dir, data_root, extra=args.vae_overrides, **sizes)
        state["vae_run"] = out["run_dir"]
        return out

    def inception_body(_: Path) -> dict:
        assets = Path(os.environ.get("GENEXP_ASSETS", ROOT / "assets"))
        layer = "64" if quick else "2048"  # a 2048-d Fréchet distance takes ~10 s on a small CPU
        extractor, spec, label = timing.inception(assets / INCEPTION_FILE, device, layer)
        batches = [2] if quick else [64, 256, 512]
        rows = timing.inception_throughput(extractor, spec, device, batches, 1 if quick else 8)
        best = max(r["images_per_s"] for r in rows)
        # generated MNIST from the overhead run's VAE; without MNIST, the DDP run's digits VAE
        source = state.get("vae_run") or str(Path(ddp.get("checkpoint") or ".").parent.parent)
        fid = timing.generated_fid(Path(source), extractor, spec, device, 8 if quick else 10000)
        return {"weights": label, "rows": rows, "projected_50k_s": round(50000 / best, 1), "fid": fid}

    overhead = runs.guarded("overhead", settings, overhead_body)
    print(
        f"  overhead: {overhead['status']} ratio {overhead.get('ratio')} {overhead.get('error', '')}",
        flush=True,
    )
    inception = runs.guarded("inception", settings, inception_body)
    print(f"  inception: {inception['status']} {inception.get('error', '')}", flush=True)
    return overhead, inception


def check(args: argparse.Namespace) -> dict:
    """Run every part; the result dict (also the JSON)."""
    start = time.time()
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    work.mkdir(parents=True, exist_ok=True)
    kit_info = prepare_kit(args, work)
    os.environ.setdefault("GENEXP_CACHE", str(work / "cache"))
    os.environ.setdefault("WANDB_MODE", "disabled")
    # the device has no Hydra plugins: genexp's optuna sweeper cannot load there (nor is it used)
    warnings.filterwarnings("ignore", message=r"\s*Error importing 'hydra_plugins")

    import torch
    from gpu_checks import runs

    import genexp.evaluate  # noqa: F401 - imported before the runs so their logs are captured
    import genexp.train  # noqa: F401
    from genexp.config import register_resolvers

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: --device cuda but torch sees no GPU; use --device cpu")
    register_resolvers()
    gc.freeze()  # the imported modules: later collections only walk what the runs create
    steps = args.steps or (2 if args.quick else 30)
    settings = runs.Settings(
        device=args.device,
        out_dir=work,
        steps=steps,
        warmup_batches=1 if args.quick else 5,
        callbacks="none" if args.quick else "default",
        deadline=start + args.budget_s - (15 if args.quick else 120),  # leave time for the rest
        report_pages=not args.quick,
    )
    print(f"gpu_check: {args.device}, work folder {work}", flush=True)
    models = runs.run_models(args.models or runs.all_models(), args.precisions, settings)
    settings.deadline = start + args.budget_s
    ddp = runs.run_ddp(settings)
    evaluate = runs.run_evaluate(ddp.get("checkpoint"), settings)
    overhead, inception = timed_parts(args, settings, ddp)
    result = {
        "schema": 1,
        "command": " ".join(["python scripts/gpu_check.py", *sys.argv[1:]]),
        "machine": report.machine(args.device),
        "kit": kit_info,
        "settings": {
            "steps": steps,
            "warmup_batches": settings.warmup_batches,
            "callbacks": settings.callbacks,
            "trainer": settings.trainer,
            "precisions": args.precisions,
            "quick": args.quick,
        },
        "models": models,
        "ddp": ddp,
        "evaluate": evaluate,
        "overhead": overhead,
        "inception": inception,
        "work": str(work),
    }
    result["wall_s"] = round(time.time() - start, 1)
    result["failures"] = report.failures(result)
    return result


def write_outputs(result: dict, out: Path, work: Path, write_docs: bool) -> None:
    """gpu_check.json, gpu_check.md and the failed runs' logs (logs.tar.gz) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "gpu_check.md").write_text(report.render(result))
    failed = [r for r in report.parts(result) if r.get("status") == "failed" and r.get("log")]
    if failed:
        with tarfile.open(out / "logs.tar.gz", "w:gz") as tar:
            for row in failed:
                tar.add(work / row["log"], arcname=row["log"])
    if write_docs:
        print(f"gpu_check: wrote {report.write_doc(result)}")


def main(argv: list[str] | None = None) -> int:
    """Run the check (or only render a JSON); 0 when everything passed."""
    args = parse_args(argv)
    if args.render is not None:
        print(f"gpu_check: wrote {report.write_doc(json.loads(args.render.read_text()))}")
        return 0
    result = check(args)
    out = args.out or Path(result["work"])
    write_outputs(result, out, Path(result["work"]), args.write_docs)
    skipped = report.skipped(result)
    print(
        f"gpu_check: {len(result['failures'])} failure(s), {len(skipped)} skipped, {result['wall_s']} s; "
        f"results in {out}"
    )
    for line in result["failures"]:
        print(f"  {line}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

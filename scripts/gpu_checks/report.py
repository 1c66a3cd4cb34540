"""The GPU check's results: the machine it ran on, and the markdown that docs/gpu.md shows
between ``<!-- gpu_check:begin -->`` and ``<!-- gpu_check:end -->``."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import socket
from pathlib import Path
from typing import Any, Optional

SECTION = "gpu_check"
DOC = Path(__file__).resolve().parents[2] / "docs" / "gpu.md"


def _version(name: str) -> Optional[str]:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine(device: str) -> dict[str, Any]:
    """The host, accelerator and library versions of this run."""
    import torch

    gpu = torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "gpu": gpu,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "torch": torch.__version__,
        **{name: _version(name) for name in ("torchvision", "lightning", "hydra-core", "torch-fidelity")},
    }


def _num(value: Any, fmt: str = ".1f") -> str:
    return "–" if value is None else format(value, fmt)


def _status(row: Optional[dict]) -> str:
    if not row:
        return "–"
    return "pass" if row.get("status") == "ok" else f"**{row.get('status', '?')}**"


def model_table(rows: list[dict[str, Any]], precisions: list[str]) -> list[str]:
    """One line per model: status, steps/s and peak memory per precision."""
    head = [
        "model",
        *precisions,
        *(f"steps/s {p}" for p in precisions),
        *(f"peak MiB {p}" for p in precisions),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {(r["model"], r["precision"]): r for r in rows}
    for model in dict.fromkeys(r["model"] for r in rows):
        cells = [f"`{model}`"]
        cells += [_status(by.get((model, p))) for p in precisions]
        cells += [_num(by.get((model, p), {}).get("steps_per_s")) for p in precisions]
        cells += [_num(by.get((model, p), {}).get("peak_mem_mib")) for p in precisions]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def inception_table(rows: list[dict[str, Any]]) -> list[str]:
    """Images/s with one column per batch size and one line per (layout, dtype)."""
    batches = sorted({r["batch"] for r in rows})
    lines = ["| layout | dtype | " + " | ".join(f"batch {b}" for b in batches) + " |"]
    lines.append("|---|---|" + "---|" * len(batches))
    rate = {(r["layout"], r["dtype"], r["batch"]): r["images_per_s"] for r in rows}
    for layout, dtype in dict.fromkeys((r["layout"], r["dtype"]) for r in rows):
        cells = [_num(rate.get((layout, dtype, b)), ".0f") for b in batches]
        lines.append(f"| {layout} | {dtype} | " + " | ".join(cells) + " |")
    return lines


def parts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run row of a check's result: models, DDP, evaluate, overhead, Inception."""
    parts = [*result.get("models", [])]
    parts += [result.get(k) for k in ("ddp", "evaluate", "overhead", "inception")]
    return [r for r in parts if r]


def failures(result: dict[str, Any]) -> list[str]:
    """``name: error`` for every run of the check that failed."""
    return [f"{r['name']}: {r.get('error', '')}" for r in parts(result) if r.get("status") == "failed"]


def skipped(result: dict[str, Any]) -> list[str]:
    """``name: why`` for every run of the check that was skipped (time budget, no MNIST)."""
    return [f"{r['name']}: {r.get('error', '')}" for r in parts(result) if r.get("status") == "skipped"]


def render(result: dict[str, Any]) -> str:
    """The markdown section for one check's JSON."""
    m, s = result["machine"], result["settings"]
    where = (
        f"{m['gpu']} (CUDA {m['cuda']})" if m.get("gpu") else f"CPU only ({m['cpu']}, {m['cpu_count']} cores)"
    )
    lines = [
        f"Measured {m['date']} on {where}, host `{m['host']}`; Python {m['python']}, torch {m['torch']}, "
        f"torchvision {m['torchvision']}, lightning {m['lightning']}, hydra-core {m['hydra-core']}, "
        f"torch-fidelity {m['torch-fidelity']}. Command: `{result['command']}` "
        f"({result['wall_s']:.0f} s in all).",
        "",
        f"Every model: {s['steps']} optimizer steps on the smallest dataset it accepts (its `_smoke_` "
        f"overrides), `trainer={s['trainer']}`, `callbacks={s['callbacks']}`, `logger=csv`; steps/s after "
        f"{s['warmup_batches']} warm-up batches; peak memory is `torch.cuda.max_memory_allocated`.",
        "",
        *model_table(result["models"], s["precisions"]),
        "",
    ]
    for key, label in (("ddp", "`trainer=ddp trainer.devices=1`"), ("evaluate", "`genexp.evaluate`")):
        row = result.get(key) or {}
        lines.append(
            f"- {label} ({row.get('overrides', '')}): {_status(row)} {row.get('error', '')}".rstrip()
        )
    o = result.get("overhead") or {}
    if o.get("status") == "ok":
        lines.append(
            f"- default MNIST VAE, genexp vs a plain PyTorch loop on the same device ({len(o['repeats'])} "
            f"alternating pairs; `{o['overrides']}`): {o['genexp_ms_per_step']} ms vs "
            f"{o['plain_ms_per_step']} ms per step, **ratio {o['ratio']}**"
        )
    else:
        lines.append(f"- genexp vs plain loop: {_status(o)} {o.get('error', '')}".rstrip())
    inc = result.get("inception") or {}
    if inc.get("status") == "ok":
        lines.append(
            f"- Inception features, {inc['weights']}; 50k images at the best rate: "
            f"**{inc['projected_50k_s']:.1f} s**. Images/s:"
        )
        lines += ["", *inception_table(inc["rows"]), ""]
        fid = inc.get("fid") or {}
        if fid:
            lines.append(
                f"- FID of {fid['n_generated']} generated vs {fid['n_real']} real {fid['dataset']} images "
                f"({fid['feature_layer']}-d features, {inc['weights']}): {fid['fid']} (sampling "
                f"{fid['sample_s']} s, features {fid['features_s']} s, Fréchet {fid['frechet_s']} s)"
            )
    else:
        lines.append(f"- Inception and FID: {_status(inc)} {inc.get('error', '')}".rstrip())
    for title, items in (("Failures (logs in logs.tar.gz)", failures(result)), ("Skipped", skipped(result))):
        if items:
            lines += ["", f"{title}:", *(f"- {b}" for b in items)]
    return "\n".join(lines) + "\n"


def write_doc(result: dict[str, Any], doc: Path = DOC) -> Path:
    """Put :func:`render`'s section into ``doc`` between the gpu_check markers."""
    from reproduction.render import write_section

    write_section(doc, SECTION, render(result))
    return doc

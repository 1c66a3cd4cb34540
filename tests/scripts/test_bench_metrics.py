"""scripts/bench_metrics.py: its report (one row per extraction path, with parity verdicts) and
that it edits only its own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_metrics.py"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_metrics", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_write_section_replaces_only_metrics(tmp_path: Path) -> None:
    bench = load_script()
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n## Training\n\nkeep me\n\n## Metrics\n\nold numbers\n\n## Data\n\nkeep too\n"
    )
    bench.write_section(doc, "## Metrics\n\nnew numbers\n")
    text = doc.read_text()
    assert "old numbers" not in text and "new numbers" in text
    assert text.index("keep me") < text.index("new numbers") < text.index("keep too")
    fresh = tmp_path / "new.md"
    bench.write_section(fresh, "## Metrics\n\nx\n")
    assert fresh.read_text() == "# Benchmarks\n\n## Metrics\n\nx\n"


def fid_row(variant: str, per_image: float, feature_diff: float, fid_diff: float, n: int = 32) -> dict:
    """A result row of ``bench_fid`` (noisy set: FID 200, a tenth of ``fid_diff``)."""
    return {
        "variant": variant,
        "n": n,
        "load_s": 0.5,
        "per_image_s": per_image,
        "frechet_s": 9.5,
        "n_total": 10000,
        "total_s": 0.5 + per_image * 10000 + 9.5,
        "measured": n >= 10000,
        "fid": 70.0,
        "fid_noisy": 200.0,
        "feature_rel_diff": feature_diff,
        "fid_rel_diff": fid_diff,
        "fid_noisy_rel_diff": fid_diff / 10,
    }


def test_report_has_a_row_per_extraction_path_with_its_parity_verdict() -> None:
    bench = load_script()
    base, cl, bf16 = bench.VARIANTS
    rows = [fid_row(base, 0.09, 0.0, 0.0), fid_row(cl, 0.06, 2e-6, 1e-7), fid_row(bf16, 0.036, 0.01, 2e-3)]
    fdc = {"n": 10000, "test_acc": 0.97, "embed_s": 0.1, "frechet_s": 1.9, "load_s": 0.0, "total_s": 2.0}
    fdc.update(train_s=20.0, epochs=10, n_train=55000)
    text = bench.report(rows, fdc, "python scripts/bench_metrics.py --n 32", 2, "MNIST", bench.WEIGHTS)
    assert "`python scripts/bench_metrics.py --n 32`" in text and "2 torch thread(s)" in text
    fid_lines = [line for line in text.splitlines() if line.startswith("| FID")]
    assert [base in fid_lines[0], cl in fid_lines[1], bf16 in fid_lines[2]] == [True] * 3
    assert "baseline (FID 70; noisy 200)" in fid_lines[0]
    assert "max Δfeature / max feature = 2.0e-06, bound 1e-05: holds" in fid_lines[1]
    assert "ΔFID/FID = 2.0e-03 (noisy 2.0e-04), bound 0.001: FAILS" in fid_lines[2]
    assert "≈ 15.2 min" in fid_lines[0] and "extrapolated linearly from 96 images" in fid_lines[0]
    assert "≈ 6.2 min" in fid_lines[2]  # 0.5 + 0.036 * 10000 + 9.5 s

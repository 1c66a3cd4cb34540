"""scripts/bench_metrics.py edits only its own section of docs/benchmarks.md."""

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

"""A group's markdown section (setting, table of ours next to the paper, claims) and its place in the
results page between ``<!-- <name>:begin -->`` and ``<!-- <name>:end -->``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping, Union

from .core import Claim, Group, Metrics, Results, Run, mean_std


def _row(label: str, source: str, cells: list[str]) -> str:
    return f"| {label} | {source} | " + " | ".join(cells) + " |"


def render(
    group: Group,
    name: str,
    results: Union[Results, Mapping[str, list[Metrics]]],
    wall_s: float,
    quick: bool,
) -> str:
    """The markdown section: setting, table (mean ± std over seeds next to the paper), claims.

    ``results`` is what :func:`~reproduction.core.collect` returned (or row label -> list of
    per-seed metrics dicts); the claims are checked on it."""
    if not isinstance(results, Results):
        results = Results.from_metrics(results)
    flag = " --quick" if quick else ""
    lines = [
        f"## {group.title}{' — QUICK SUBSET (not a reproduction)' if quick else ''}",
        "",
        group.notes,
        "",
        f"Reproduce: `python scripts/reproduce.py {name}{flag}` (runs every row over seeds "
        f"{'0' if quick else '0 1 2'}, reusing finished run folders in "
        f"`outputs/reproduce/{name}{'-quick' if quick else ''}/`). Seeds per row: n below. The runs behind "
        f"this table took {wall_s / 60:.1f} min of wall time (sum over runs, one at a time). Generated "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        *classifier_lines(results),
        "| Model | source | " + " | ".join(c.header for c in group.columns) + " |",
        "|---|---|" + "---|" * len(group.columns),
    ]

    def paper_line(run: Run) -> str:
        return _row("", group.source, [run.paper.get(c.key, "—") for c in group.columns])

    for run in group.runs:
        if run.label not in results:
            if run.paper and (run.quick or not quick):
                lines += [_row(run.label, "ours: not run", ["—"] * len(group.columns)), paper_line(run)]
            continue
        done = results[run.label]
        cells = []
        for col in group.columns:
            xs = list(done.by_seed(col.key).values())
            if not xs:
                cells.append("—")
                continue
            m, s = mean_std([x * col.scale for x in xs])
            cells.append(f"{m:.{col.digits}f}±{s:.{col.digits}f}")
        lines.append(_row(run.label, f"ours (n={len(done)})", cells))
        if run.paper:
            lines.append(paper_line(run))
    if group.claims:
        lines += ["", "Claims (means over seeds):", ""]
        lines += [claim_line(claim, results) for claim in group.claims]
    return "\n".join(lines) + "\n"


def classifier_lines(results: Results) -> list[str]:
    """The domain classifier(s) behind the classifier columns, read from the runs' protocols: one
    line naming file, sha256, seed and test accuracy (a table whose runs used different
    classifiers says so, since their FD (clf) values are then not comparable)."""
    seen: dict[tuple, list[str]] = {}
    for label, row in results.items():
        for metrics in row.metrics:
            for key, value in metrics.items():
                if key.endswith("_protocol") and isinstance(value, dict) and "classifier_sha256" in value:
                    ident = tuple(
                        value.get(k) for k in ("classifier_file", "classifier_sha256", "classifier_seed")
                    )
                    seen.setdefault(ident + (value.get("classifier_test_acc"),), []).append(label)
    if not seen:
        return []
    described = [
        f"`{file}` (sha256 `{str(sha)[:16]}…`, classifier seed {seed}, test accuracy {acc:.4f})"
        if isinstance(acc, float)
        else f"`{file}` (sha256 `{str(sha)[:16]}…`, seed {seed})"
        for file, sha, seed, acc in seen
    ]
    if len(described) == 1:
        return [f"Classifier columns: one domain classifier for every run, {described[0]}.", ""]
    return [
        "Classifier columns: **the runs used different classifiers**, so their values are not "
        "comparable across rows: " + "; ".join(described) + ".",
        "",
    ]


def claim_line(claim: Claim, results: Results) -> str:
    """One claim's bullet, judged on ``results``."""
    if not all(label in results for label in claim.needs):
        return f"- **{claim.cid}** {claim.text}: not run"
    try:
        ok, detail = claim.check(results)
    except KeyError as missing:
        return f"- **{claim.cid}** {claim.text}: metric {missing} missing"
    verdict = "not judged" if ok is None else ("holds" if ok else "does not hold")
    return f"- **{claim.cid}** {claim.text}: **{verdict}** — {detail}"


def write_section(path: Path, name: str, section: str) -> None:
    """Replace (or append) the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{section}{end}\n"
    text = (
        path.read_text()
        if path.exists()
        else "# Measured reproductions\n\nGenerated by `scripts/reproduce.py`.\n\n"
    )
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)

"""``python -m genexp.report <run folder | sweep folder | several folders>``: (re)build report pages.

One run folder or one sweep folder: its ``report.html``. Several folders (runs or sweeps, e.g. from
different days): each one's page, plus one comparison page (``--out``, default
``./report_compare.html``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from genexp.report import (
    is_run_folder,
    is_sweep_folder,
    write_comparison_report,
    write_run_page,
    write_sweep_report,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genexp.report", description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="run folders and/or sweep folders")
    p.add_argument("--out", type=Path, default=None, help="comparison page (several folders)")
    p.add_argument("--metric", default=None, help="the metric to rank jobs by (default: the sweep's)")
    p.add_argument("--direction", choices=["minimize", "maximize"], default=None)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """Build the pages; print one line per page written. Exit 2 on a folder that is neither."""
    args = _parser().parse_args(argv)
    written = []
    for folder in args.folders:
        if is_run_folder(folder):
            written.append(write_run_page(folder))
        elif is_sweep_folder(folder):
            written.append(write_sweep_report(folder, args.metric, args.direction, rebuild_jobs=True))
        else:
            print(
                f"genexp.report: error: {folder} is neither a run folder nor a sweep folder", file=sys.stderr
            )
            return 2
    if len(args.folders) > 1 or args.out is not None:
        out = args.out or Path.cwd() / "report_compare.html"
        written.append(write_comparison_report(args.folders, out, args.metric, args.direction))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

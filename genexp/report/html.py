"""The HTML pieces every report page shares: the page frame, inline CSS and the table-sorting script."""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Optional

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em 2em;
       color: #222; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover { background: #e2e2e2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #c8f0c8; font-weight: bold; }
tr.failed td { background: #fde0e0; }
.scroll { overflow-x: auto; max-width: 100%; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
code.cmd { background: #f7f7f7; padding: .3em .5em; display: inline-block; }
.status-ok { color: #187018; font-weight: bold; } .status-bad { color: #b01818; font-weight: bold; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; border: 1px solid #ddd; padding: .4em; background: #fafafa; }
figure img { display: block; max-width: 420px; height: auto; }
figcaption { font-size: .8em; color: #444; max-width: 420px; word-wrap: break-word; }
.small figure img { max-width: 300px; } .small figcaption { max-width: 300px; }
img.wide { max-width: 100%; height: auto; }
"""

# click a header to sort by that column; numbers by data-v, text otherwise; click again to reverse
SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
      function key(r) { var c = r.cells[col]; var v = c.dataset.v;
        return v !== undefined && v !== '' ? parseFloat(v) : c.textContent.trim(); }
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        if (typeof x === 'number' && typeof y === 'number') return asc ? x - y : y - x;
        if (typeof x === 'number') return -1; if (typeof y === 'number') return 1;
        return asc ? String(x).localeCompare(y) : String(y).localeCompare(x); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int/float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any) -> str:
    """A short text for a number (6 significant digits) or any other value."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def cell(value: Any, classes: str = "", sort_value: Optional[float] = None) -> str:
    """A ``<td>``; numbers (or text given a ``sort_value``) are right-aligned and sort as numbers."""
    if is_number(value) or sort_value is not None:
        v = float(value) if sort_value is None else float(sort_value)
        return f'<td class="num {classes}" data-v="{v!r}">{esc(fmt(value))}</td>'
    return f'<td class="{classes}">{esc(fmt(value)) if value is not None else ""}</td>'


def table(headers: Iterable[str], rows: Iterable[str], sortable: bool = False) -> str:
    """A table from header names and ready ``<tr>`` rows."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(rows)
    inner = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<div class="scroll"><table{cls}>{inner}</table></div>'


def details(summary: str, body_html: str, open_: bool = False) -> str:
    """A collapsible block."""
    return f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{body_html}</details>"


def pre(text: str) -> str:
    """Preformatted, escaped text."""
    return f"<pre>{esc(text)}</pre>"


def as_json(value: Any) -> str:
    """Pretty JSON text of ``value``."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def rel(target: Path, page_dir: Path) -> str:
    """The link to ``target`` from a page written in ``page_dir`` (forward slashes)."""
    return Path(os.path.relpath(Path(target).resolve(), Path(page_dir).resolve())).as_posix()


def img(src: str, caption: str, href: Optional[str] = None, wide: bool = False) -> str:
    """A captioned image; ``src`` is a relative link or a ``data:`` URI."""
    cls = ' class="wide"' if wide else ""
    tag = f'<img src="{esc(src)}" alt="{esc(caption)}"{cls}>'
    if href:
        tag = f'<a href="{esc(href)}">{tag}</a>'
    return f"<figure>{tag}<figcaption>{esc(caption)}</figcaption></figure>"


def page(title: str, body_html: str) -> str:
    """A whole self-contained page: inline CSS and script, nothing fetched from a network."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body_html}\n"
        f"<script>{SORT_JS}</script>\n</body></html>\n"
    )


def write_page(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path

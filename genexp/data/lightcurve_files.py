"""Survey light curves from disk (LINEAR / ASAS prepared as in the thesis).

Two formats under ``root``:

- CSV: a catalogue ``catalogue.csv`` with columns ``id, period, class`` and one ``<id>.csv`` per
  curve in ``curves/`` with columns ``time, mag, err`` (header row; extra columns ignored).
- NPZ: one ``lightcurves.npz`` with ``time``, ``mag``, ``err`` (all curves concatenated),
  ``lengths`` (points per curve), ``period`` and ``class`` (names, one per curve).

Bad input raises :class:`genexp.errors.DataError`: missing files or columns, non-positive
periods, NaN magnitudes, empty curves.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from genexp.data.lightcurve_generator import RawCurve
from genexp.data.lightcurves import LightCurveDataModule
from genexp.errors import ConfigError, DataError

CATALOGUE_COLUMNS = ("id", "period", "class")
CURVE_COLUMNS = ("time", "mag", "err")
NPZ_KEYS = ("time", "mag", "err", "lengths", "period", "class")


def missing_file_error(path: Path) -> DataError:
    """The one-line error for a light-curve file that is not there."""
    return DataError(f"light-curve file {path} not found; see genexp/data/lightcurve_files.py for the layout")


def read_csv_columns(path: Path, columns: tuple[str, ...]) -> dict[str, list[str]]:
    """The named columns of a CSV file with a header row, as lists of strings."""
    if not path.is_file():
        raise missing_file_error(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(f"{path} lacks column(s) {missing}; it needs {list(columns)}")
        rows = [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    return {c: [r[c].strip() for r in rows] for c in columns}


def checked_curve(name: str, time, mag, err, period: float, label: int) -> RawCurve:
    """A :class:`RawCurve` after the input checks (non-empty, positive period, finite magnitudes)."""
    time, mag, err = (np.asarray(a, dtype=np.float64) for a in (time, mag, err))
    if len(time) == 0:
        raise DataError(f"light curve {name!r} is empty; drop it from the catalogue")
    if not period > 0:
        raise DataError(f"light curve {name!r} has non-positive period {period}; periods must be > 0")
    if np.isnan(mag).any() or np.isnan(time).any() or np.isnan(err).any():
        raise DataError(f"light curve {name!r} has NaN time/magnitude/error values; remove those rows")
    return RawCurve(time, mag, err, float(period), label)


def load_csv_catalogue(root: Path, catalogue: str, curves_dir: str) -> tuple[list[RawCurve], list[str]]:
    """Curves listed in the catalogue CSV; class names sorted alphabetically."""
    cat = read_csv_columns(root / catalogue, CATALOGUE_COLUMNS)
    names = sorted(set(cat["class"]))
    curves = []
    for cid, period, cls in zip(cat["id"], cat["period"], cat["class"]):
        cols = read_csv_columns(root / curves_dir / f"{cid}.csv", CURVE_COLUMNS)
        values = [[float(v) for v in cols[c]] for c in CURVE_COLUMNS]
        curves.append(checked_curve(cid, *values, float(period), names.index(cls)))
    return curves, names


def load_npz(path: Path) -> tuple[list[RawCurve], list[str]]:
    """Curves from the NPZ layout; class names sorted alphabetically."""
    if not path.is_file():
        raise missing_file_error(path)
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in NPZ_KEYS if k not in data]
        if missing:
            raise DataError(f"{path} lacks array(s) {missing}; it needs {list(NPZ_KEYS)}")
        arrays = {k: data[k] for k in NPZ_KEYS}
    lengths = arrays["lengths"].astype(int)
    if lengths.sum() != len(arrays["time"]):
        raise DataError(f"{path}: sum(lengths)={lengths.sum()} differs from len(time)={len(arrays['time'])}")
    names = sorted(set(str(c) for c in arrays["class"]))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    curves = []
    for i, (a, b) in enumerate(zip(starts[:-1], starts[1:])):
        curves.append(
            checked_curve(
                f"#{i}",
                arrays["time"][a:b],
                arrays["mag"][a:b],
                arrays["err"][a:b],
                float(arrays["period"][i]),
                names.index(str(arrays["class"][i])),
            )
        )
    return curves, names


class FileLightCurves(LightCurveDataModule):
    """Light curves read from ``root`` (``format``: ``csv`` or ``npz``); see the module docstring."""

    def __init__(
        self,
        root: str,
        format: Literal["csv", "npz"] = "csv",
        catalogue: str = "catalogue.csv",
        curves_dir: str = "curves",
        npz_file: str = "lightcurves.npz",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if format not in ("csv", "npz"):
            raise ConfigError(f"dataset.format must be 'csv' or 'npz', got {format!r}")
        self.root = Path(root)
        self.format = format
        self.catalogue = catalogue
        self.curves_dir = curves_dir
        self.npz_file = npz_file

    def check_files(self) -> None:
        """Raise :class:`DataError` when the catalogue (``csv``) or the curves file (``npz``) is missing."""
        path = self.root / (self.npz_file if self.format == "npz" else self.catalogue)
        if not path.is_file():
            raise missing_file_error(path)

    def raw_curves(self) -> tuple[list[RawCurve], list[str]]:
        """All curves of the catalogue."""
        if self.format == "npz":
            return load_npz(self.root / self.npz_file)
        return load_csv_catalogue(self.root, self.catalogue, self.curves_dir)


def write_csv_catalogue(
    root: Path, curves: list[RawCurve], names: list[str], ids: Optional[list[str]] = None
) -> None:
    """Write ``curves`` in the CSV layout (used by tests and to convert other sources)."""
    ids = ids or [f"lc{i:05d}" for i in range(len(curves))]
    (root / "curves").mkdir(parents=True, exist_ok=True)
    with (root / "catalogue.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CATALOGUE_COLUMNS)
        for cid, c in zip(ids, curves):
            w.writerow([cid, c.period, names[c.label]])
    for cid, c in zip(ids, curves):
        with (root / "curves" / f"{cid}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CURVE_COLUMNS)
            w.writerows(zip(c.time, c.mag, c.err))

"""scripts/bench_overhead.py's comparison machinery (rotated alternation, per-repeat ratios with
median and spread, the Lightning-step side) and bench_pythae.py's reading of its install folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_alternate_rotates_the_order_of_the_sides_every_repeat() -> None:
    bench = load_script("bench_overhead")
    order: list[str] = []

    def side(name: str):
        return lambda: (order.append(name), (1.0, 10))[1]

    rows = bench.alternate({"plain": side("plain"), "genexp": side("genexp"), "pythae": side("pythae")}, 3)
    assert order == ["plain", "genexp", "pythae", "genexp", "pythae", "plain", "pythae", "plain", "genexp"]
    assert rows == [{"plain": (1.0, 10), "genexp": (1.0, 10), "pythae": (1.0, 10)}] * 3


def test_ratio_summary_pairs_each_repeat_with_its_own_plain_run() -> None:
    bench = load_script("bench_overhead")
    rows = [  # (seconds, steps): time per step over the same repeat's plain loop
        {"plain": (10.0, 1000), "genexp": (10.5, 1000), "pythae": (11.0, 1000)},
        {"plain": (20.0, 1000), "genexp": (20.0, 1000), "pythae": (26.4, 1100)},
        {"plain": (5.0, 500), "genexp": (2.7, 250), "pythae": (5.5, 500)},
    ]
    summary = bench.ratio_summary(rows)
    assert summary["plain"]["ratio"] == [1.0, 1.0, 1.0]
    assert summary["genexp"]["ms_per_step"] == [10.5, 20.0, 10.8]
    assert summary["genexp"]["ratio"] == [1.05, 1.0, 1.08]
    assert (summary["genexp"]["ratio_median"], summary["genexp"]["ratio_min"]) == (1.05, 1.0)
    assert summary["genexp"]["ratio_max"] == 1.08
    assert summary["pythae"]["ratio"] == [1.1, 1.2, 1.1] and summary["pythae"]["ratio_median"] == 1.1
    assert summary["pythae"]["steps"] == [1000, 1100, 500]


def test_lightning_step_side_turns_the_lean_path_off_only_while_it_runs() -> None:
    bench = load_script("bench_overhead")
    from genexp.models.base import GenerativeModule

    seen = []
    side = bench.lightning_step(lambda: (seen.append(GenerativeModule.lean_steps), (1.0, 1))[1])
    assert side() == (1.0, 1) and seen == [False] and GenerativeModule.lean_steps is True

    def failing() -> tuple[float, int]:
        raise RuntimeError("run failed")

    with pytest.raises(RuntimeError):
        bench.lightning_step(failing)()
    assert GenerativeModule.lean_steps is True


def test_pythae_version_is_read_from_the_install_folder(tmp_path: Path) -> None:
    peers = load_script("bench_pythae")
    assert peers._installed_version(tmp_path) is None
    (tmp_path / "imageio-2.38.2.dist-info").mkdir()
    (tmp_path / "pythae-0.1.2.dist-info").mkdir()
    assert peers._installed_version(tmp_path) == "0.1.2"

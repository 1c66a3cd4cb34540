"""scripts/gen_gtn_checks.py: the bandwidth check draws until the standard error is small enough."""

from __future__ import annotations

import importlib.util
import itertools
import math
import statistics
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checks():
    spec = importlib.util.spec_from_file_location("gen_gtn_checks", ROOT / "scripts" / "gen_gtn_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alternating():
    values = itertools.cycle([0.0, 2.0])  # stdev -> 1 as the count grows
    return lambda k: [next(values) for _ in range(k)]


def test_trials_for_se_draws_until_the_standard_error_is_below_the_target(checks) -> None:
    values = checks.trials_for_se(_alternating(), 10, 0.1, 1000)
    se = statistics.stdev(values) / math.sqrt(len(values))
    # 10 draws have stdev sqrt(10/9): (1.054 / 0.1)^2 + 1 -> 113 draws, whose SE 0.0945 is below 0.1
    assert len(values) == 113 and se < 0.1
    assert len(checks.trials_for_se(lambda k: [0.5] * k, 10, 0.1, 1000)) == 10  # no spread: the minimum
    assert len(checks.trials_for_se(_alternating(), 10, 0.01, 300)) == 300  # capped

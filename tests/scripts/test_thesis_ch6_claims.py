"""The chapter-6 claims on the GAN rows (scripts/reproduction/thesis_ch6.py, G1-G4) judged on
per-seed results with known answers, and the GAN rows' place in the group."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ch6():
    """scripts/reproduction/thesis_ch6.py (scripts/ on sys.path, as reproduce.py puts it)."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    return importlib.import_module("reproduction.thesis_ch6")


def seeds(acc: list[float], fd: float = 50.0, mi: float = 10.0) -> list[dict[str, float]]:
    return [{"test/linear_probe_acc": a, "test/fd_classifier": fd, "test/mi_q": mi} for a in acc]


def table(**rows: list[dict[str, float]]):
    core = importlib.import_module("reproduction.core")
    names = {"VAE": "VAE β=1", "WVAE": "WVAE β=1"}
    return core.Results.from_metrics({names.get(k, k): v for k, v in rows.items()})


def test_the_gan_rows_run_their_own_experiment_in_the_quick_subset_with_the_paper_values(ch6) -> None:
    rows = {run.label: run for run in ch6.GROUP.runs}
    for label, model in (("AIM", "aim"), ("ALI", "ali"), ("ALICE", "alice"), ("Veegan", "veegan")):
        run = rows[label]
        assert (run.model, run.experiment, run.quick) == (model, "thesis_ch6_cpu_gan", True)
    assert rows["ALI"].paper["linear_probe_acc"] == "51.73±28.48"
    assert rows["ALICE"].paper["mi_q"] == "14.42±0.69" and rows["AIM"].paper["fd_classifier"] == "25.92±1.62"
    quick = {run.label for run in ch6.GROUP.runs if run.quick}
    for claim in ch6.GROUP.claims:
        assert set(claim.needs) <= quick, claim.cid


def test_g1_to_g4_hold_on_the_thesis_directions_and_fail_when_reversed(ch6) -> None:
    claims = {c.cid: c for c in ch6.GROUP.claims}
    good = table(
        VAE=seeds([0.88, 0.87], fd=105.0, mi=20.0),
        WVAE=seeds([0.94, 0.93], fd=340.0, mi=62.0),
        AIM=seeds([0.89, 0.88], fd=26.0, mi=9.7),
        ALI=seeds([0.30, 0.80], fd=388.0, mi=-5.6),
        ALICE=seeds([0.89, 0.90], fd=46.0, mi=14.4),
        Veegan=seeds([0.75, 0.86], fd=38.0, mi=8.9),
    )
    for cid in ("G1", "G2", "G3", "G4"):
        ok, detail = claims[cid].check(good)
        assert ok, (cid, detail)
    assert (
        claims["G3"].check(good)[1]
        == "std of Acc over seeds: ALI 35.36 points; the next largest: Veegan 7.78"
    )
    bad = table(
        VAE=seeds([0.88, 0.87], fd=20.0, mi=20.0),  # VAE generates better than AIM
        WVAE=seeds([0.94, 0.93], mi=62.0),
        AIM=seeds([0.95, 0.94], fd=26.0, mi=9.7),  # AIM represents better than WVAE
        ALI=seeds([0.80, 0.81]),  # ALI stable ...
        ALICE=seeds([0.89, 0.90], mi=70.0),  # ... and ALICE's MI above WVAE's
        Veegan=seeds([0.60, 0.86]),  # Veegan the unstable one
    )
    for cid in ("G1", "G2", "G3", "G4"):
        assert not claims[cid].check(bad)[0], cid
    one_seed = table(ALI=seeds([0.5]), AIM=seeds([0.8]))
    assert claims["G3"].check(one_seed) == (None, "ALI has 1 seed(s): a spread needs ≥ 2")

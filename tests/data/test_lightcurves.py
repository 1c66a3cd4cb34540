"""Light-curve data: folding, normalisation, packing, the synthetic generator, the anomaly
protocol and the files loader (CSV and NPZ) with each bad-input case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genexp.data.lightcurve_files import FileLightCurves, write_csv_catalogue
from genexp.data.lightcurve_generator import CLASSES, OVERLAPPING, generate_curves
from genexp.data.lightcurve_packing import faintest_phase, fold, normalise, pack_curves, unpack
from genexp.data.lightcurves import BalancedBatchLoader, SyntheticLightCurves, anomaly_split
from genexp.errors import ConfigError, DataError

COMMON = dict(shape=[5, 200], num_classes=5, num_inlier_classes=4)


def test_fold_and_normalise() -> None:
    t = np.array([0.0, 0.5, 2.25, 3.0, -0.5])
    np.testing.assert_allclose(fold(t, 2.0), [0.0, 0.25, 0.125, 0.5, 0.75])
    mag, err = np.array([10.0, 12.0, 14.0]), np.array([0.1, 0.2, 0.3])
    m_n, e_n, m, s = normalise(mag, err)
    assert m == pytest.approx(12.0) and s == pytest.approx(np.std(mag))
    np.testing.assert_allclose(m_n, (mag - 12.0) / s)
    np.testing.assert_allclose(e_n, err / s)  # errors scaled like magnitudes


def test_pack_sorts_pads_masks_and_keeps_features() -> None:
    curves = generate_curves(2, seed=0, min_len=40, max_len=60)
    x, feats = pack_curves(curves, max_len=60)
    b = unpack(torch.as_tensor(x))
    for i, c in enumerate(curves):
        n = len(c.time)
        assert int(b.mask[i].sum()) == n and (b.mask[i, n:] == 0).all()
        assert (np.diff(b.t[i, :n].numpy()) >= 0).all()  # sorted by phase
        assert b.mag[i, :n].mean().abs() < 1e-4 and b.mag[i, :n].std(unbiased=False) == pytest.approx(
            1.0, abs=1e-4
        )
        np.testing.assert_allclose(feats[i], [c.mag.mean(), c.mag.std(), np.log(c.period)], rtol=1e-6)
    long = generate_curves(1, seed=1, min_len=150, max_len=150)
    xl, _ = pack_curves(long, max_len=100)  # subsampled to max_len
    assert xl[:, 3].sum(1).max() == 100


def test_generator_is_seeded_and_classes_separate_by_period() -> None:
    a, b = generate_curves(30, seed=3), generate_curves(30, seed=3)
    assert all(np.array_equal(x.mag, y.mag) for x, y in zip(a, b))
    assert not np.array_equal(a[0].mag, generate_curves(30, seed=4)[0].mag)
    assert all(40 <= len(c.time) <= 200 for c in a)
    # nearest class median in ln(period) recovers the class
    medians = np.log([median for median, _ in CLASSES.values()])
    pred = [int(np.argmin(np.abs(np.log(c.period) - medians))) for c in a]
    assert np.mean(np.array(pred) == np.array([c.label for c in a])) > 0.9


def test_overlapping_feature_ranges_draw_periods_and_amplitudes_from_shared_ranges() -> None:
    curves = generate_curves(40, seed=5, feature_ranges="overlapping")
    names = list(CLASSES)
    for c in curves:
        (p_lo, p_hi), _ = OVERLAPPING[names[c.label]]
        assert p_lo <= c.period <= p_hi
    periods = {k: [c.period for c in curves if c.label == k] for k in range(5)}
    # every class's period range overlaps another's: ln p no longer names the class
    assert max(periods[0]) > min(periods[2]) and max(periods[2]) > min(periods[4])
    assert all(
        np.array_equal(a.mag, b.mag)
        for a, b in zip(generate_curves(3, 1), generate_curves(3, 1, feature_ranges="separated"))
    )
    with pytest.raises(ValueError, match="feature_ranges"):
        generate_curves(1, 0, feature_ranges="wide")


def test_faintest_phase_of_the_two_harmonic_fit_and_the_aligned_packing() -> None:
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 1, 80))
    mag = np.cos(2 * np.pi * (t - 0.3)) + 0.4 * np.cos(4 * np.pi * (t - 0.3))  # faintest (maximum) at 0.3
    assert faintest_phase(t, mag) == pytest.approx(0.3, abs=1 / 400)
    assert faintest_phase(t[:4], mag[:4]) == 0.0  # too few points for 5 coefficients
    curves = generate_curves(4, seed=2)
    x, feats = pack_curves(curves, max_len=200, phase_align="faintest")
    x0, feats0 = pack_curves(curves, max_len=200)
    np.testing.assert_allclose(feats, feats0, rtol=1e-12)  # only the phases move
    for i in range(len(curves)):
        n = int(x[i, 3].sum())
        assert faintest_phase(x[i, 0, :n], x[i, 1, :n]) in (0.0, pytest.approx(1.0, abs=1 / 200))
        np.testing.assert_allclose(np.sort(x[i, 1, :n]), np.sort(x0[i, 1, :n]))  # the same points
    with pytest.raises(ConfigError):
        SyntheticLightCurves(name="lc", phase_align="epoch", **COMMON)


def test_anomaly_split_keeps_proportions() -> None:
    labels = np.repeat([0, 1, 2], [10, 40, 20])
    train, test = anomaly_split(labels, outlier=0, seed=0)
    assert set(train).isdisjoint(test)
    counts = np.bincount(labels[test], minlength=3)
    assert counts[0] == 10 and counts[1:].sum() == 10 and counts[1] > counts[2]  # 40:20 kept
    assert 0 not in labels[train] and len(train) == 60 - 10


def test_synthetic_datamodule_protocol_and_balanced_loader() -> None:
    dm = SyntheticLightCurves(name="lc", n_per_class=20, outlier_class="w_uma", **COMMON)
    dm.setup()
    assert dm.class_names[-1] == "w_uma" and dm.outlier_classes == [4]
    x, y = dm.get_data("train")
    xt, yt = dm.get_data("test")
    assert x.shape[1:] == (5, 200) and int((y == 4).sum()) == 0
    assert int((yt == 4).sum()) == 20 and int((yt < 4).sum()) == 20
    f = unpack(x).f
    assert torch.allclose(f.mean(0), torch.zeros(3), atol=1e-4)  # standardised on train
    loader = dm.train_dataloader()
    assert isinstance(loader, BalancedBatchLoader)
    with pytest.raises(ConfigError):
        SyntheticLightCurves(name="lc", n_per_class=5, outlier_class="nope", **COMMON).setup()


def _tiny_catalogue(root: Path) -> None:
    curves = generate_curves(3, seed=0, min_len=10, max_len=20)
    write_csv_catalogue(root, curves, list(CLASSES))


def test_files_loader_reads_csv_and_npz(tmp_path: Path) -> None:
    _tiny_catalogue(tmp_path)
    dm = FileLightCurves(root=str(tmp_path), name="f", outlier_class="beta_persei", **COMMON)
    dm.setup()
    assert len(dm.get_data("train")[0]) == 9 and len(dm.get_data("test")[0]) == 6
    curves = generate_curves(3, seed=0, min_len=10, max_len=20)
    np.savez(
        tmp_path / "lightcurves.npz",
        time=np.concatenate([c.time for c in curves]),
        mag=np.concatenate([c.mag for c in curves]),
        err=np.concatenate([c.err for c in curves]),
        lengths=[len(c.time) for c in curves],
        period=[c.period for c in curves],
        **{"class": np.array([list(CLASSES)[c.label] for c in curves])},
    )
    dn = FileLightCurves(root=str(tmp_path), format="npz", name="f", outlier_class="beta_persei", **COMMON)
    dn.setup()
    assert torch.allclose(dn.get_data("test")[0], dm.get_data("test")[0])


def _rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


@pytest.mark.parametrize("case", ["missing_column", "bad_period", "nan_mag", "empty", "missing_file"])
def test_files_loader_rejects_bad_input(tmp_path: Path, case: str) -> None:
    _tiny_catalogue(tmp_path)
    cat, curve = tmp_path / "catalogue.csv", tmp_path / "curves" / "lc00000.csv"
    if case == "missing_column":
        _rewrite(curve, "time,mag,err", "time,magnitude,err")
    elif case == "bad_period":
        lines = cat.read_text().splitlines()
        lines[1] = "lc00000,-1.0," + lines[1].split(",")[2]
        cat.write_text("\n".join(lines) + "\n")
    elif case == "nan_mag":
        lines = curve.read_text().splitlines()
        t, _, e = lines[1].split(",")
        lines[1] = f"{t},nan,{e}"
        curve.write_text("\n".join(lines) + "\n")
    elif case == "empty":
        curve.write_text("time,mag,err\n")
    else:
        curve.unlink()
    with pytest.raises(DataError):
        FileLightCurves(root=str(tmp_path), name="f", **COMMON).setup()

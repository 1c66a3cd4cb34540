"""Metric callbacks end to end through ``python -m genexp`` and ``python -m genexp.evaluate``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from helpers.cli import has_mnist, run_genexp

PGMGAN_KEYS = ("test/modes", "test/modes_total", "test/hq_pct", "test/reverse_kl", "test/mode_share")


def test_gan_grid25_reports_modes_hq_and_reverse_kl(genexp_cli) -> None:
    """A CLI smoke test of metric=toy2d, plus the values the shipped configs promise in the recorded
    protocol (the metric values themselves: tests/callbacks/test_metric_values.py)."""
    run = genexp_cli("model=gan", "dataset=grid25", "metric=toy2d", "trainer=debug", "logger=csv")
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = run.metrics()
    for key in PGMGAN_KEYS:
        assert key in metrics, key
    assert metrics["test/modes_total"] == 25
    shares = metrics["test/mode_share"]
    assert len(shares) == 25 and sum(shares) == pytest.approx(1.0, abs=1e-4)
    expected_kl = sum(p * math.log(25 * p) for p in shares if p > 0)
    assert metrics["test/reverse_kl"] == pytest.approx(expected_kl, abs=1e-3)
    proto = metrics["test/toy2d_protocol"]
    assert proto["n_samples"] == 50000 and proto["dataset"] == "grid25"
    assert proto["hq_sigmas"] == 3.0 and proto["sigma"] == 0.05  # high quality: within 3 sigma, sigma 0.05
    assert proto["low_density_quantile"] == 0.01 and proto["reference_split"] == "test"
    assert "test/reverse_kl" in run.stdout  # end-of-run summary


def test_evaluate_refuses_a_missing_checkpoint(tmp_path: Path) -> None:
    run = run_genexp(tmp_path, f"ckpt={tmp_path / 'nope.ckpt'}", "metric=[toy2d]", module="genexp.evaluate")
    assert run.returncode == 2
    assert "no such checkpoint" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_evaluate_a_checkpoint_on_one_and_two_processes(tmp_path: Path) -> None:
    train = run_genexp(
        tmp_path,
        "model=gan",
        "dataset=ring8",
        "metric=toy2d",
        "metric.toy2d.n_samples=5000",
        "trainer=smoke",
        "trainer.max_steps=40",
        "logger=csv",
        "num_threads=1",
        run_dir=tmp_path / "run",
    )
    assert train.returncode == 0, train.stderr[-3000:]
    with open(next((train.run_dir / "csv").rglob("metrics.csv"))) as fh:
        rows = list(csv.DictReader(fh))
    logged = [float(r["test/reverse_kl"]) for r in rows if r.get("test/reverse_kl")]
    assert logged == [pytest.approx(train.metrics()["test/reverse_kl"])]  # the logger got the same number
    values = {}
    for trainer in ("cpu", "ddp_cpu"):
        ev = run_genexp(
            tmp_path,
            f"ckpt={train.run_dir}",
            "metric=[toy2d]",
            f"trainer={trainer}",
            "trainer.limit_test_batches=2",
            "metric.toy2d.n_samples=20000",
            "metric.toy2d.batch_size=3000",
            module="genexp.evaluate",
            run_dir=tmp_path / f"eval_{trainer}",
            timeout=400,
        )
        assert ev.returncode == 0, ev.stderr[-3000:]
        values[trainer] = json.loads((train.run_dir / "eval_metrics.json").read_text())
    one, two = values["cpu"], values["ddp_cpu"]
    assert one["ckpt"].endswith("last.ckpt") and one["metrics"] == ["toy2d"]
    for ev, world in ((one, 1), (two, 2)):  # each evaluation records its own provenance
        prov = ev["provenance"]
        assert "genexp.evaluate" in prov["command"] and prov["world_size"] == world, prov
        assert prov["end_time"] >= prov["start_time"] > train.metrics()["provenance"]["start_time"]
    for key in ("test/modes", "test/hq_pct", "test/reverse_kl", "test/low_density_frac", "test/mode_share"):
        assert two[key] == pytest.approx(one[key], rel=1e-12), key
    assert one["test/toy2d_protocol"] == two["test/toy2d_protocol"]


@pytest.mark.slow
@pytest.mark.skipif(not has_mnist(), reason="needs MNIST under data/ (make assets)")
def test_vae_mnist_classifier_probe_and_latent_metrics(genexp_cli) -> None:
    """A smoke test of the MNIST metric stack from the command line (the classifier's accuracy and
    the protocol are checked; the metric values: tests/callbacks/)."""
    run = genexp_cli(
        "model=vae",
        "dataset=mnist",
        "metric=[fd_classifier,is_classifier,linear_probe,latent]",
        "trainer=debug",
        "logger=csv",
        "metric.fd_classifier.epochs=2",
        "metric.is_classifier.epochs=2",
        "metric.fd_classifier.n_samples=2000",
        "metric.is_classifier.n_samples=2000",
        "metric.linear_probe.n_train=5000",
        "metric.latent.n=2000",
        "metric.latent.n_prior=2000",
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    m = run.metrics()
    assert m["test/domain_classifier_test_acc"] > 0.9
    for key in (
        "test/fd_classifier",
        "test/is_classifier",
        "test/linear_probe_acc",
        "test/mi_q",
        "test/log_mse_x",
        "test/log_mse_z",
        "test/h_q_zx",
        "test/agg_w2_prior",
    ):
        assert math.isfinite(m[key]), key
    proto = m["test/fd_classifier_protocol"]
    assert (
        proto["n_samples"] == 2000
        and proto["reference_split"] == "test"
        and proto["classifier_test_acc"] > 0.9
    )


def test_an_evaluation_seed_draws_other_samples_but_keeps_the_runs_data_split(tmp_path) -> None:
    from omegaconf import OmegaConf

    from genexp.evaluate import evaluation_config

    run_cfg = OmegaConf.create({"seed": 3, "dataset": {"seed": "${seed}"}, "metric": {}, "paths": {}})
    cfg = OmegaConf.create({"seed": 5, "metric": {"fid": {}}, "paths": {"output_dir": "x"}})
    merged = evaluation_config(cfg, run_cfg, tmp_path)
    assert merged.seed == 5 and merged.dataset.seed == 3
    same = evaluation_config(OmegaConf.create({"seed": None, "metric": {}, "paths": {}}), run_cfg, tmp_path)
    assert same.seed == 3 and same.dataset.seed == 3

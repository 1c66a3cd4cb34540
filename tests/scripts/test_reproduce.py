"""scripts/reproduce.py and scripts/reproduction/: every group is well formed, commands and tables
are built right, and claims are judged on the per-seed results they are given."""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import pathlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def core(rep):
    """reproduction.core: the data model, collect and the per-seed results."""
    return importlib.import_module("reproduction.core")


@pytest.fixture(scope="module")
def render(rep):
    """reproduction.render: the markdown section and its place in the results page."""
    return importlib.import_module("reproduction.render")


def _write_seeds(folder: Path, slug: str, per_seed: list[dict[str, float]]) -> None:
    for seed, values in enumerate(per_seed):
        run_dir = folder / slug / f"seed{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(json.dumps({f"test/{k}": v for k, v in values.items()}))
        (run_dir / "reproduce.json").write_text(json.dumps({"wall_s": 30.0}))


def test_every_group_names_existing_configs_and_unique_rows(rep, core) -> None:
    experiments = ROOT / "genexp" / "configs" / "experiment"
    models = ROOT / "genexp" / "configs" / "model"
    assert set(rep.GROUPS) == {
        "thesis_ch6",
        "lc_vade",
        "pgmgan_toy",
        "thesis_ch8",
        "thesis_ch8_vade",
        "scgan_toy",
        "gtn_mnist",
        "gen_mnist",
        "gen_mnist_ext",
    }
    for name, group in rep.GROUPS.items():
        assert importlib.import_module(f"reproduction.{name}").GROUP is group
        labels = [run.label for run in group.runs]
        assert len(set(labels)) == len(labels), name
        assert len({core.slug(label) for label in labels}) == len(labels), name
        for run in group.runs:
            if run.script:
                assert (ROOT / run.script[0]).exists(), run.script
                continue
            assert (experiments / f"{run.experiment or group.experiment}.yaml").exists(), (name, run.label)
            assert (models / f"{run.model}.yaml").exists(), (name, run.label)
            for value in run.overrides.values():
                if isinstance(value, core.SiblingPath):
                    assert value.label in labels, (name, run.label)
        for claim in group.claims:
            assert set(claim.needs) <= set(labels), (name, claim.cid)
        for label in group.figures.values():
            assert label in labels, (name, label)


def test_setting_notes_come_from_docs_as_one_paragraph(rep) -> None:
    results_page = (ROOT / "docs" / "results.md").read_text()
    for name, group in rep.GROUPS.items():
        assert (ROOT / "docs" / "reproduction" / f"{name}.md").exists(), name
        assert group.notes.startswith("Setting (") and "\n" not in group.notes and "<!--" not in group.notes
        assert f"\n{group.notes}\n" in results_page, name  # the generated section carries it unchanged


def test_run_command_of_a_genexp_row_and_of_a_script_row(rep, tmp_path) -> None:
    group = rep.GROUPS["thesis_ch8"]
    main, kmeans = group.runs[0], next(r for r in group.runs if r.script)
    cmd = rep.run_command(group, main, 2, tmp_path, {"model.max_iterations": 5})
    assert cmd[1:3] == ["-m", "genexp"]
    assert "experiment=mpcc_mnist_cpu" in cmd and "seed=2" in cmd and "model.max_iterations=5" in cmd
    assert f"hydra.run.dir={tmp_path}" in cmd and "num_threads=1" in cmd
    assert "num_threads=2" in rep.run_command(group, main, 2, tmp_path, {}, threads=2)
    cmd = rep.run_command(group, kmeans, 1, tmp_path, {})
    assert cmd[1].endswith("kmeans_baseline.py")
    assert cmd[-4:] == ["--seeds", "1", "--json", str(tmp_path / "metrics.json")]


def test_scgan_rows_load_the_encoder_stage_of_the_same_seed_and_invocation(rep, core, tmp_path) -> None:
    group = rep.GROUPS["scgan_toy"]
    by_label = {run.label: run for run in group.runs}
    mapping, gaussian = by_label["eight_gaussians (c) mapping"], by_label["eight_gaussians (a) gaussian"]
    folder = tmp_path / "scgan_toy-quick"
    cmd = rep.run_command(group, gaussian, 2, folder / core.slug(gaussian.label) / "seed2", {})
    stage = folder / "eight_gaussians_c_mapping" / "seed2" / "stages" / "encoder.pt"
    assert f"model.stages.encoder={stage}" in cmd
    assert not any("encoder_ckpt" in part for part in cmd)
    cmd = rep.run_command(group, mapping, 2, folder / core.slug(mapping.label) / "seed2", {})
    assert not any(part.startswith("model.stages.") for part in cmd)  # (c) trains its own stages


def test_render_averages_seeds_and_judges_claims(rep, render) -> None:
    group = rep.GROUPS["thesis_ch8"]
    kmeans = importlib.import_module("reproduction.thesis_ch8").KMEANS
    base = {"cluster_purity": 0.8, "cluster_acc": 0.75, "cluster_smallest_frac": 0.05, "fd_classifier": 30.0}
    results = {run.label: [{f"test/{k}": v for k, v in base.items()}] * 2 for run in group.runs}
    results[kmeans] = [{"cluster_purity": 0.58, "cluster_acc": 0.54}]
    results["MPCC (S)"] = [{**results["MPCC (S)"][0], "test/cluster_purity": p} for p in (0.7, 0.9)]
    text = render.render(group, "thesis_ch8", results, 60.0, quick=False)
    assert "| MPCC (S) | ours (n=2) | 80.0±14.1 |" in text
    assert "**P2-C6** MPCC clusters MNIST: purity ≥ 0.70 and above k-means on raw pixels: **holds**" in text
    assert "**P2-C8**" in text and "not run" not in text
    del results["MPCC (S), η_p = lr"]
    results[kmeans] = [{"cluster_acc": 0.54}]
    text = render.render(group, "thesis_ch8", results, 60.0, quick=False)
    assert (
        "**P2-C7** Table 8.4 direction: a larger prior learning rate η_p gives a higher accuracy: not run"
        in text
    )
    assert "**P2-C6** MPCC clusters MNIST: purity ≥ 0.70 and above k-means on raw pixels: metric " in text


def test_row_results_helpers(core) -> None:
    row = core.RowResults([0, 2, 5], [{"test/a": 1.0, "b": 4}, {"test/a": 3.0}, {"test/a": float("nan")}])
    assert row.by_seed("a") == {0: 1.0, 2: 3.0} and row.values("b") == [4.0] and len(row) == 3
    assert row.mean("a") == 2.0 and row.std("a") == pytest.approx(2**0.5) and row.median("a") == 2.0
    assert row.mean("missing", default=-1.0) == -1.0
    with pytest.raises(KeyError):
        row.mean("missing")


def test_per_seed_claims_are_judged_on_the_results_passed_in(rep, core, monkeypatch) -> None:
    claims = {c.cid: c for c in rep.GROUPS["pgmgan_toy"].claims + rep.GROUPS["scgan_toy"].claims}
    good = {"reverse_kl": 0.001, "modes": 25.0, "hq_pct": 99.5}
    bad_seed = {"reverse_kl": 0.02, "modes": 20.0, "hq_pct": 70.0}

    def no_files(*args, **kwargs):
        raise AssertionError("a claim read a file")

    for name in ("read_text", "read_bytes", "open", "glob", "exists", "iterdir"):
        monkeypatch.setattr(pathlib.Path, name, no_files)
    monkeypatch.setattr(builtins, "open", no_files)

    results = core.Results.from_metrics({"PGMGAN grid25": [{f"test/{k}": v for k, v in good.items()}] * 3})
    ok, detail = claims["PGM-1 grid25 a"].check(results)
    assert ok and "modes [25.0, 25.0, 25.0]" in detail
    results = core.Results.from_metrics(
        {"PGMGAN grid25": [{f"test/{k}": v for k, v in m.items()} for m in (good, bad_seed, good)]}
    )
    assert not claims["PGM-1 grid25 a"].check(results)[0]  # one bad seed fails "every seed"
    ok, detail = claims["PGM-1 grid25 b"].check(results)  # ... but not the median seed
    assert ok and detail == "median modes 25, median HQ 99.50 %"

    mse = [{"test/reconstruction_mse": v} for v in (0.1, 0.01, 0.01)]
    results = core.Results(
        {
            "eight_gaussians (c) mapping": core.RowResults([4], mse[:1]),
            "eight_gaussians (d) data": core.RowResults([4, 7], mse[1:]),
        }
    )
    ok, detail = claims["SC-1.1"].check(results)  # seeds are paired by number: only seed 4 has both
    assert ok and detail == "1/1 seeds pass (seed4: MSE(d) 0.0100, MSE(c) 0.1000)"


def test_quick_claims_are_checked_on_the_quick_run_folders(rep, tmp_path) -> None:
    good = {"reverse_kl": 0.001, "modes": 25.0, "hq_pct": 99.5}
    bad = {"reverse_kl": 0.5, "modes": 3.0, "hq_pct": 10.0}
    _write_seeds(tmp_path / "pgmgan_toy-quick", "pgmgan_grid25", [good])
    _write_seeds(tmp_path / "pgmgan_toy", "pgmgan_grid25", [bad, bad])
    assert rep.main(["pgmgan_toy", "--quick", "--table-only", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "pgmgan_toy-quick" / "results.md").read_text()
    assert "<!-- pgmgan_toy-quick:begin -->" in text and "QUICK SUBSET" in text
    assert "| PGMGAN grid25 | ours (n=1) | 25.0±0.0 | 99.50±0.00 | 0.0010±0.0000 | — | — |" in text
    assert "**PGM-1 grid25 a** every PGMGAN seed: reverse KL < 0.01, modes ≥ 24, HQ ≥ 90 %: **holds**" in text
    assert "**PGM-1 grid25 d**" in text and "GAN grid25 (same nets, k=1, λ=0) | ours: not run" not in text
    full = tmp_path / "full.md"
    assert rep.main(["pgmgan_toy", "--table-only", "--out", str(tmp_path), "--results", str(full)]) == 0
    text = full.read_text()
    assert "| PGMGAN grid25 | ours (n=2) | 3.0±0.0 |" in text
    assert (
        "**PGM-1 grid25 a** every PGMGAN seed: reverse KL < 0.01, modes ≥ 24, HQ ≥ 90 %: **does not hold**"
        in text
    )
    assert "| PGMGAN ring8 | ours: not run |" in text


def test_write_section_replaces_only_its_own_block(render, tmp_path) -> None:
    path = tmp_path / "results.md"
    render.write_section(path, "a", "first\n")
    render.write_section(path, "b", "other\n")
    render.write_section(path, "a", "second\n")
    text = path.read_text()
    assert "second" in text and "first" not in text and "other" in text
    assert text.count("<!-- a:begin -->") == 1


def test_render_names_the_domain_classifier_and_flags_a_mix(rep, render) -> None:
    group = rep.GROUPS["thesis_ch6"]

    def protocol(sha: str) -> dict:
        ident = {"classifier_file": "mnist-mlp-x.pt", "classifier_sha256": sha, "classifier_seed": 0}
        return {
            "test/fd_classifier": 1.0,
            "test/fd_classifier_protocol": {**ident, "classifier_test_acc": 0.98},
        }

    one = {run.label: [protocol("ab" * 32)] for run in group.runs}
    text = render.render(group, "thesis_ch6", one, 1.0, quick=False)
    assert "one domain classifier for every run, `mnist-mlp-x.pt` (sha256 `abababababababab…`" in text
    assert "classifier seed 0, test accuracy 0.9800" in text
    mixed = {**one, "VAE β=1": [protocol("cd" * 32)]}
    text = render.render(group, "thesis_ch6", mixed, 1.0, quick=False)
    assert "**the runs used different classifiers**" in text and "cdcdcdcdcdcdcdcd" in text
    assert "Classifier columns" not in render.render(group, "thesis_ch6", {"VAE β=1": [{}]}, 1.0, quick=False)

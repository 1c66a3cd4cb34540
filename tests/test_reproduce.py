"""scripts/reproduce.py: every group is well formed, commands and tables are built right."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rep():
    """The reproduce script as a module."""
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "scripts" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module
    spec.loader.exec_module(module)
    return module


def test_every_group_names_existing_configs_and_unique_rows(rep) -> None:
    experiments = ROOT / "genexp" / "configs" / "experiment"
    models = ROOT / "genexp" / "configs" / "model"
    for name, group in rep.GROUPS.items():
        labels = [run.label for run in group.runs]
        assert len(set(labels)) == len(labels), name
        assert len({rep.slug(label) for label in labels}) == len(labels), name
        for run in group.runs:
            if run.script:
                assert (ROOT / run.script[0]).exists(), run.script
                continue
            assert (experiments / f"{run.experiment or group.experiment}.yaml").exists(), (name, run.label)
            assert (models / f"{run.model}.yaml").exists(), (name, run.label)
        for claim in group.claims:
            assert set(claim.needs) <= set(labels), (name, claim.cid)
        for label in group.figures.values():
            assert label in labels, (name, label)


def test_run_command_of_a_genexp_row_and_of_a_script_row(rep, tmp_path) -> None:
    group = rep.GROUPS["thesis_ch8"]
    main, kmeans = group.runs[0], next(r for r in group.runs if r.script)
    cmd = rep.run_command(group, main, 2, tmp_path, {"model.max_iterations": 5})
    assert cmd[1:3] == ["-m", "genexp"]
    assert "experiment=mpcc_mnist_cpu" in cmd and "seed=2" in cmd and "model.max_iterations=5" in cmd
    assert f"hydra.run.dir={tmp_path}" in cmd
    cmd = rep.run_command(group, kmeans, 1, tmp_path, {})
    assert cmd[1].endswith("kmeans_baseline.py")
    assert cmd[-4:] == ["--seeds", "1", "--json", str(tmp_path / "metrics.json")]


def test_render_averages_seeds_and_judges_claims(rep) -> None:
    group = rep.GROUPS["thesis_ch8"]
    base = {"cluster_purity": 0.8, "cluster_acc": 0.75, "cluster_smallest_frac": 0.05, "fd_classifier": 30.0}
    results = {run.label: [{f"test/{k}": v for k, v in base.items()}] * 2 for run in group.runs}
    results[rep.CH8_KMEANS] = [{"cluster_purity": 0.58, "cluster_acc": 0.54}]
    results["MPCC (S)"] = [{**results["MPCC (S)"][0], "test/cluster_purity": p} for p in (0.7, 0.9)]
    text = rep.render(group, "thesis_ch8", results, 60.0, quick=False)
    assert "| MPCC (S) | ours (n=2) | 80.0±14.1 |" in text
    assert "**P2-C6** MPCC clusters MNIST: purity ≥ 0.70 and above k-means on raw pixels: **holds**" in text
    assert "**P2-C8**" in text and "not run" not in text


def test_write_section_replaces_only_its_own_block(rep, tmp_path) -> None:
    path = tmp_path / "results.md"
    rep.write_section(path, "a", "first\n")
    rep.write_section(path, "b", "other\n")
    rep.write_section(path, "a", "second\n")
    text = path.read_text()
    assert "second" in text and "first" not in text and "other" in text
    assert text.count("<!-- a:begin -->") == 1

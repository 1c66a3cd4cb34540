"""The one staging mechanism: artefacts, reuse from another run, resumed runs never redo a stage."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from genexp.errors import CheckpointError, ConfigError
from genexp.models.components.staging import Stage, StagedModel, fingerprint, stage_path
from genexp.run_record import RunRecord


class TwoStages(StagedModel, nn.Module):
    """A toy staged model: stage ``net`` (a module) then stage ``table`` (tensors only)."""

    def __init__(self, stages: dict | None = None) -> None:
        super().__init__()
        self.net = nn.Linear(3, 2)
        self.table: dict[str, torch.Tensor] = {}
        self.calls = {"net": 0, "table": 0}
        self.init_stages(["net", "table"], stages)

    def train_net(self) -> dict:
        self.calls["net"] += 1
        with torch.no_grad():
            self.net.weight.fill_(float(self.calls["net"]))
        return {"value": 1.5}

    def train_table(self) -> dict:
        self.calls["table"] += 1
        self.table = {"t": self.net.weight.sum().detach().reshape(1)}
        return {}

    def stages(self) -> list[Stage]:
        return [
            Stage("net", self.train_net, {"net": self.net}),
            Stage(
                "table",
                self.train_table,
                tensors=lambda: dict(self.table),
                restore=lambda t: self.table.update(t),
                meta=lambda: {"net": fingerprint(self.net)},
            ),
        ]


def _trainer(folder: Path) -> SimpleNamespace:
    """Just what the staging code reads of a Lightning Trainer."""
    return SimpleNamespace(
        callbacks=[RunRecord(folder)],
        global_rank=0,
        world_size=1,
        loggers=[],
        global_step=0,
        default_root_dir=str(folder),
    )


def _run(model: TwoStages, folder: Path) -> dict:
    model._trainer = _trainer(folder)
    return model.run_stages(model.stages())


def test_stages_save_artefacts_record_diagnostics_and_freeze(tmp_path: Path) -> None:
    model = TwoStages()
    _run(model, tmp_path)
    assert model.calls == {"net": 1, "table": 1}
    assert stage_path(tmp_path, "net").is_file() and stage_path(tmp_path, "table").is_file()
    assert model._trainer.callbacks[0].results["stage/net/value"] == 1.5
    assert not any(p.requires_grad for p in model.net.parameters()) and not model.net.training
    assert model.stages_done.tolist() == [True, True]


def test_a_resumed_model_skips_done_stages_and_restores_tensor_stages(tmp_path: Path) -> None:
    first = TwoStages()
    _run(first, tmp_path)
    resumed = TwoStages()
    resumed.load_state_dict(first.state_dict())  # what a Lightning checkpoint restores
    _run(resumed, tmp_path)
    assert resumed.calls == {"net": 0, "table": 0}
    assert torch.equal(resumed.table["t"], first.table["t"])
    assert not any(p.requires_grad for p in resumed.net.parameters())


def test_a_run_killed_before_its_first_checkpoint_loads_its_own_artefacts(tmp_path: Path) -> None:
    first = TwoStages()
    _run(first, tmp_path)
    again = TwoStages()  # fresh weights, no checkpoint: only the run folder's stages/ survive
    info = _run(again, tmp_path)
    assert again.calls == {"net": 0, "table": 0}
    assert info["restored_from"] == str(stage_path(tmp_path, "table"))
    assert torch.equal(again.net.weight, first.net.weight)


def test_stage_artefacts_from_another_run_and_their_errors(tmp_path: Path) -> None:
    _run(TwoStages(), tmp_path / "a")
    net_file = stage_path(tmp_path / "a", "net")
    other = TwoStages({"net": str(net_file)})
    info = _run(other, tmp_path / "b")
    assert other.calls == {"net": 0, "table": 1} and info["loaded_from"] == str(net_file)
    assert stage_path(tmp_path / "b", "net").is_file()  # the run folder holds all its stages
    with pytest.raises(
        ConfigError, match="model.stages.nett is not a stage of this model; its stages are: net, table"
    ):
        TwoStages({"nett": str(net_file)})
    with pytest.raises(CheckpointError, match="no such file"):
        _run(TwoStages({"net": str(tmp_path / "missing.pt")}), tmp_path / "c")
    with pytest.raises(CheckpointError, match="holds stage 'net', not 'table'"):
        _run(TwoStages({"table": str(net_file)}), tmp_path / "d")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        _run(TwoStages({"net": str(tmp_path / "bad.pt")}), tmp_path / "e")


def test_an_artefact_made_from_other_inputs_is_refused(tmp_path: Path) -> None:
    _run(TwoStages(), tmp_path / "a")
    table_file = stage_path(tmp_path / "a", "table")
    mismatched = TwoStages({"table": str(table_file)})
    with torch.no_grad():
        mismatched.net.bias.add_(1.0)  # its stage `net` now ends with other weights than run a's
    with pytest.raises(CheckpointError, match="was made with net="):
        _run(mismatched, tmp_path / "b")


def test_a_module_that_does_not_fit_the_artefact_is_refused(tmp_path: Path) -> None:
    _run(TwoStages(), tmp_path / "a")
    model = TwoStages({"net": str(stage_path(tmp_path / "a", "net"))})
    model.net = nn.Linear(4, 2)
    with pytest.raises(CheckpointError, match="does not fit this model's config"):
        _run(model, tmp_path / "b")

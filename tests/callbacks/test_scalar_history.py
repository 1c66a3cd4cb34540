"""ScalarHistory: one row per logging step (whatever the logger, none included) and per validation."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

from genexp.callbacks.history import HISTORY_FILE, ScalarHistory
from genexp.report.history import HISTORY_FILE as READ_FILE
from genexp.report.history import read_history, series
from genexp.run_record import RunRecord


class _Tiny(L.LightningModule):
    """A linear regression that logs train/loss every step it is asked to and val/loss per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        loss = (self.net(batch[0]) - batch[1]).pow(2).mean()
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", (self.net(batch[0]) - batch[1]).pow(2).mean(), on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader(n: int = 40) -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    return torch.utils.data.DataLoader(data, batch_size=4)


def _fit(tmp_path: Path, max_steps: int, every: int, logger) -> list[dict]:
    trainer = L.Trainer(
        max_steps=max_steps,
        log_every_n_steps=every,
        logger=logger,
        callbacks=[ScalarHistory(), RunRecord(tmp_path)],
        default_root_dir=str(tmp_path),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=1,
        limit_val_batches=2,
        accelerator="cpu",
    )
    trainer.fit(_Tiny(), train_dataloaders=_loader(), val_dataloaders=_loader(8))
    lines = (tmp_path / HISTORY_FILE).read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("logger", [False, True], ids=["no_logger", "csv_logger"])
def test_rows_on_logging_steps_only(tmp_path: Path, logger: bool) -> None:
    csv = L.pytorch.loggers.CSVLogger(str(tmp_path), name="csv") if logger else False
    rows = _fit(tmp_path, max_steps=23, every=5, logger=csv)
    train = [r for r in rows if r["stage"] == "train"]
    # 23 steps, 10 batches per epoch: the loggers write at steps 5, 10, 15, 20
    assert [r["step"] for r in train] == [5, 10, 15, 20]
    assert all(isinstance(r["train/loss"], float) for r in train)
    val = [r for r in rows if r["stage"] == "val"]
    # one row per validation (after epochs 0 and 1; the sanity check and the cut epoch 2 write none)
    assert [r["step"] for r in val] == [10, 20]
    assert all("val/loss" in r and "train/loss" not in r for r in val)


def test_reader_keeps_the_last_row_of_a_repeated_step(tmp_path: Path) -> None:
    rows = [
        {"stage": "train", "step": 5, "train/loss": 1.0},
        {"stage": "train", "step": 10, "train/loss": 0.5},
        {"stage": "train", "step": 10, "train/loss": 0.4},  # redone after a resume
        {"stage": "val", "step": 10, "val/loss": 0.7},
    ]
    (tmp_path / READ_FILE).write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken")
    got = series(read_history(tmp_path))
    assert got == {"train/loss": [(5, 1.0), (10, 0.4)], "val/loss": [(10, 0.7)]}


def test_reader_and_writer_agree_on_the_file_name() -> None:
    assert READ_FILE == HISTORY_FILE

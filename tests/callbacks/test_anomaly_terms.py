"""The anomaly metric scores each part of a model's score alone (``anomaly_score_terms``): the
values equal scikit-learn's on the same parts, and the parts sum to the scored total."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.metric_fixtures import ClassImages, ImageAutoencoder
from helpers.trainers import bare_trainer
from sklearn.metrics import average_precision_score, roc_auc_score

from genexp.callbacks.anomaly_metrics import AnomalyMetrics
from genexp.run_record import run_record


class TwoPartScore(ImageAutoencoder):
    """score = bright (band 0 lit: the outliers) + noise (the last pixel): two parts of unlike quality."""

    def anomaly_score_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"bright": self.encode(x)[:, 0], "noise": 3.0 * x.flatten(1)[:, -1]}

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        return sum(self.anomaly_score_terms(x).values())


def test_each_part_of_the_score_is_scored_alone(tmp_path: Path) -> None:
    dm = ClassImages(n=400, outlier_classes=[0])
    model = TwoPartScore()
    trainer = bare_trainer(tmp_path, [AnomalyMetrics(batch_size=64, strict=True)])
    trainer.test(model, datamodule=dm, verbose=False)
    res = run_record(trainer).results
    x, y = dm.get_data("test")
    is_out = (y == 0).numpy()
    parts = {k: v.double().numpy() for k, v in model.anomaly_score_terms(x).items()}
    for name, values in parts.items():
        assert res[f"test/auroc_{name}"] == pytest.approx(roc_auc_score(is_out, values), rel=1e-12)
        assert res[f"test/auprc_{name}"] == pytest.approx(average_precision_score(is_out, values), rel=1e-12)
    assert res["test/auroc"] == pytest.approx(roc_auc_score(is_out, parts["bright"] + parts["noise"]))
    assert res["test/auroc_bright"] > res["test/auroc"] > res["test/auroc_noise"]  # unlike parts

"""ClusteringCurve: checks every N iterations on a fixed subset, written as `curve` rows of
history.jsonl with the scores of the model at that point, in eval mode, without side effects."""

from __future__ import annotations

import functools
import json

import pytest
import torch
from helpers.trainers import bare_trainer

from genexp.callbacks.clustering_curve import ClusteringCurve
from genexp.data.digits import DigitsDataModule
from genexp.metrics.clustering import clustering_scores
from genexp.models.mpcc import MPCC
from genexp.nets.mpcc_generators import ConditionalMLPGenerator
from genexp.nets.shared_trunk import mlp_critic, mlp_encoder
from genexp.priors.floored_gmm import FlooredGMMPrior


def _mpcc(iterations: int) -> MPCC:
    adam = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.0, 0.999))
    return MPCC(
        data_shape=(1, 8, 8),
        value_range=(0.0, 1.0),
        latent_dim=4,
        num_clusters=3,
        prior=functools.partial(FlooredGMMPrior),
        generator=functools.partial(ConditionalMLPGenerator, hidden=(16,)),
        discriminator=functools.partial(mlp_critic, trunk=(16,)),
        encoder=functools.partial(mlp_encoder, trunk=(16,), hidden=(8,), head_hidden=8),
        g_optimizer=adam,
        d_optimizer=adam,
        e_optimizer=adam,
        d_steps=2,
        e_steps=1,
        share_encoder=True,
        max_iterations=iterations,
    )


def test_curve_points_every_n_iterations_on_a_fixed_subset(tmp_path) -> None:
    torch.manual_seed(0)
    dm = DigitsDataModule(image_size=8, batch_size=16, value_range=(0.0, 1.0), seed=0)
    curve = ClusteringCurve(splits=["train"], n=300, every_n_iterations=2, subset_seed=0)
    model = _mpcc(iterations=5)
    trainer = bare_trainer(tmp_path, [curve], max_epochs=-1, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    rows = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    curve_rows = [r for r in rows if r["stage"] == "curve"]
    # at iterations 2 and 4, and once at the end (iteration 5); each row at its optimizer step
    assert [r["curve/iteration"] for r in curve_rows] == [2, 4, 5]
    assert [r["step"] for r in curve_rows] == [2 * (2 + 1 + 1 + 1), 4 * 5, trainer.global_step]
    # the subset: 300 distinct training points drawn with subset_seed, the same at every check
    x, y = curve.subset(trainer)
    train_x, train_y = dm.get_data("train")
    pick = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:300].sort().values
    assert torch.equal(x, train_x[pick]) and torch.equal(y, train_y[pick])
    # the last point is the final model's scores on that subset (eval mode)
    model.eval()
    ref = clustering_scores(y, model.cluster(x))
    last = curve_rows[-1]
    assert last["curve/cluster_purity"] == pytest.approx(ref["cluster_purity"])
    assert last["curve/cluster_acc"] == pytest.approx(ref["cluster_acc"])


def test_a_check_leaves_the_model_in_its_mode_and_spectral_norm_untouched(tmp_path) -> None:
    torch.manual_seed(0)
    dm = DigitsDataModule(image_size=8, batch_size=16, value_range=(0.0, 1.0), seed=0)
    model = _mpcc(iterations=1)
    curve = ClusteringCurve(n=100, every_n_iterations=0)
    trainer = bare_trainer(tmp_path, [curve], max_epochs=-1, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    model.train()
    model.generator_ema = None
    model.discriminator.eval()  # a submodule in eval mode stays so
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.iteration = 7
    curve.check(trainer, model)
    assert model.training and not model.discriminator.training and model.encoder.heads.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # SN's u, v too

"""Metric callbacks end to end (lightning.Trainer, CPU, tiny models): each recorded value equals a
direct recomputation on the same samples/features with an independent reference (hand-written
2-D toy formulas, scikit-learn, brute force, :mod:`genexp.metrics.frechet` on the extractor's
features); negative controls (the wrong distribution scores clearly worse, a copy of the reference
scores ~0); and the shipped metric YAML's values reach the callback and its protocol."""

from __future__ import annotations

import itertools
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
from helpers.metric_fixtures import (
    ClassImages,
    FixedImages,
    ImageAutoencoder,
    MixtureSampler,
    _Stub,
    callback_samples,
    recorded_values,
)
from omegaconf import OmegaConf
from sklearn.metrics import (
    adjusted_rand_score,
    average_precision_score,
    normalized_mutual_info_score,
    roc_auc_score,
)

from genexp.callbacks.anomaly_metrics import AnomalyMetrics
from genexp.callbacks.classifier_metrics import DomainClassifierMetrics
from genexp.callbacks.clustering_metrics import ClusteringMetrics
from genexp.callbacks.inception_metrics import InceptionMetrics
from genexp.callbacks.memorisation_metrics import MemorisationMetrics
from genexp.config import CONFIG_DIR
from genexp.data.toy2d import Toy2DDataModule
from genexp.metrics import classifier_extractor, fidelity
from genexp.metrics.frechet import frechet_distance_from_features
from genexp.metrics.toy2d import toy2d_metrics


def run(tmp_path: Path, callback, model, dm) -> dict:
    """The values ``callback`` records in one test phase."""
    return recorded_values(tmp_path, [callback], model, dm)


class BlankImages(_Stub):
    """The wrong distribution for band images: no band lit, the same noise."""

    def __init__(self) -> None:
        super().__init__((1, 8, 8), (-1.0, 1.0))

    def sample(self, n: int) -> torch.Tensor:
        return (torch.full((n, 1, 8, 8), -0.8) + 0.15 * torch.randn(n, 1, 8, 8)).clamp(-1, 1)


# -- 2-D toys -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid() -> Toy2DDataModule:
    dm = Toy2DDataModule("grid25", n_train=500, n_val=100, n_test=2000, batch_size=100)
    dm.setup()
    return dm


def shipped_toy2d(**overrides):
    cfg = OmegaConf.load(CONFIG_DIR / "metric" / "toy2d.yaml").toy2d
    cfg.seed = 0
    for k, v in overrides.items():
        cfg[k] = v
    return hydra.utils.instantiate(cfg)


def test_toy2d_values_equal_the_hand_computed_modes_quality_and_reverse_kl(tmp_path: Path, grid) -> None:
    sigma = grid.distribution.sigma
    assert sigma == 0.05  # the dataset's sigma (PGMGAN spec §5)
    cb = shipped_toy2d(n_samples=4000, seed=3, batch_size=1500, strict=True)
    assert cb.hq_sigmas == 3.0  # the shipped radius
    model = MixtureSampler(grid.distribution.means[:20], 1.5 * sigma)  # 20 of 25 modes, too wide
    res = run(tmp_path, cb, model, grid)
    x = callback_samples(model, 4000, 3, 1500).double()
    means = grid.distribution.means.double()
    hits = (x[:, None] - means[None]).abs().amax(-1) < 3 * sigma  # within 3 sigma in every coordinate
    p = torch.bincount(torch.cdist(x, means).argmin(1), minlength=25).double() / len(x)
    nz = p > 0
    assert res["test/modes"] == int(hits.any(0).sum()) == 20 and res["test/modes_total"] == 25
    assert res["test/hq_pct"] == pytest.approx(100 * hits.any(1).double().mean().item(), rel=1e-12)
    assert 85 < res["test/hq_pct"] < 95  # (P(|N(0,1)| < 2))^2 = 91.1 %: not a trivial 0 or 100
    assert res["test/reverse_kl"] == pytest.approx((p[nz] * (25 * p[nz]).log()).sum().item(), rel=1e-9)
    assert res["test/mode_share"] == pytest.approx(p.tolist(), abs=1e-6)
    dist, reference = grid.distribution, grid.get_data("test")[0].float()
    direct = toy2d_metrics(x.float(), means, sigma, log_density=dist.log_prob, reference=reference)
    for key in ("low_density_frac", "low_density_threshold", "mode_share_min", "mode_share_max"):
        assert res[f"test/{key}"] == pytest.approx(direct[key], rel=1e-9), key
    proto = res["test/toy2d_protocol"]
    assert proto["sigma"] == sigma and proto["hq_sigmas"] == 3.0 and proto["n_samples"] == 4000


def test_toy2d_high_quality_radius_is_three_sigma_per_coordinate(tmp_path: Path, grid) -> None:
    sigma = grid.distribution.sigma
    centre = grid.distribution.means[12]
    offsets = torch.tensor([[2.9, 0.0], [-2.9, 2.9], [3.1, 0.0], [0.0, -3.1]]) * sigma
    model = FixedImages((centre + offsets).repeat(25, 1))
    model.data_shape = (2,)
    res = run(tmp_path, shipped_toy2d(n_samples=100, batch_size=100, strict=True), model, grid)
    assert res["test/hq_pct"] == pytest.approx(50.0) and res["test/modes"] == 1


# -- clustering and anomaly -----------------------------------------------------------------------


class SloppyClusters(ImageAutoencoder):
    """Band clusters (permuted), a quarter of them moved to the next cluster by a fixed rule of x."""

    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        c = super().cluster(x)
        moved = (x.flatten(1).sum(1) * 1000).long() % 4 == 0
        return torch.where(moved, (c + 1) % self.k, c)

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[:, 0] + 2.0 * x.flatten(1)[:, -1]  # band 0 bright, but band 3 confuses it


def hungarian_by_brute_force(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    return max(np.mean(np.array(perm)[pred] == y) for perm in itertools.permutations(range(k)))


@pytest.mark.parametrize("splits", [["test"], ["train", "test"]])
def test_clustering_values_equal_sklearn_and_brute_force_on_the_same_predictions(
    tmp_path: Path, splits
) -> None:
    dm = ClassImages(n=400)
    model = SloppyClusters()
    res = run(tmp_path, ClusteringMetrics(splits=splits, batch_size=64, strict=True), model, dm)
    x = torch.cat([dm.get_data(s)[0] for s in splits])
    y = torch.cat([dm.get_data(s)[1] for s in splits]).numpy()
    pred = model.cluster(x).numpy()
    acc = hungarian_by_brute_force(y, pred, 4)
    assert 0.6 < acc < 0.9  # an imperfect clustering: comparing a set with itself would give 1
    assert res["test/cluster_acc"] == pytest.approx(acc)
    purity = sum(np.bincount(y[pred == c]).max() for c in np.unique(pred)) / len(y)
    assert res["test/cluster_purity"] == pytest.approx(purity)
    assert res["test/cluster_nmi"] == pytest.approx(normalized_mutual_info_score(y, pred))
    assert res["test/cluster_ari"] == pytest.approx(adjusted_rand_score(y, pred))
    assert res["test/cluster_smallest_frac"] == pytest.approx(np.bincount(pred, minlength=4).min() / len(y))
    assert res["test/clustering_protocol"]["n"] == len(y)


class MergedClusters(ImageAutoencoder):
    """Bands 0 and 1 in one cluster, bands 2 and 3 in their own: a many-to-one clustering."""

    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).argmax(1).clamp(min=1) - 1


def test_purity_is_many_to_one_and_hungarian_one_to_one_on_merged_clusters(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    res = run(tmp_path, ClusteringMetrics(batch_size=64, strict=True), MergedClusters(), dm)
    # 4 balanced classes in 3 clusters: a merged cluster votes for one of its two classes
    assert res["test/cluster_purity"] == pytest.approx(0.75)
    assert res["test/cluster_acc"] == pytest.approx(0.75)
    assert res["test/cluster_smallest_frac"] == 0.0  # the 4th cluster (one per class) is empty
    assert res["test/clustering_protocol"]["clusters_used"] == 3


def test_anomaly_values_equal_sklearn_and_flip_with_the_score(tmp_path: Path) -> None:
    dm = ClassImages(n=400, outlier_classes=[0])
    model = SloppyClusters()
    res = run(tmp_path, AnomalyMetrics(batch_size=64, strict=True), model, dm)
    x, y = dm.get_data("test")
    is_out, score = (y == 0).numpy(), model.anomaly_score(x).double().numpy()
    auroc = roc_auc_score(is_out, score)
    assert 0.55 < auroc < 0.98  # overlapping scores: neither trivial nor perfect
    assert res["test/auroc"] == pytest.approx(auroc, rel=1e-12)
    assert res["test/auprc"] == pytest.approx(average_precision_score(is_out, score), rel=1e-12)
    model.anomaly_score = lambda xb: -SloppyClusters.anomaly_score(model, xb)  # negative control
    flipped = run(tmp_path / "flipped", AnomalyMetrics(batch_size=64, strict=True), model, dm)
    assert flipped["test/auroc"] == pytest.approx(1 - auroc, rel=1e-12)


# -- feature-space metrics ------------------------------------------------------------------------


def test_fid_kid_precision_recompute_and_order_right_wrong_and_copy(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    dm.setup()
    train = dm.get_data("train")[0]

    def make() -> InceptionMetrics:
        return InceptionMetrics(
            metrics=["fid", "kid", "prd"],
            extractor="tiny",
            n_samples=400,
            n_reference=None,
            batch_size=400,
            kid_subsets=20,
            kid_subset_size=200,
            cache_dir=str(tmp_path / "cache"),
            seed=3,
            strict=True,
        )

    right_model = ImageAutoencoder()
    right = run(tmp_path / "right", make(), right_model, dm)
    wrong = run(tmp_path / "wrong", make(), BlankImages(), dm)
    copy = run(tmp_path / "copy", make(), FixedImages(train), dm)
    ext = fidelity.make_extractor(fidelity.tiny_spec(), ["features"])
    feats = lambda x: fidelity.extract(ext, fidelity.to_uint8_rgb(x, (-1, 1)))["features"]  # noqa: E731
    gen = feats(callback_samples(right_model, 400, 3, 400))
    assert right["test/fid"] == pytest.approx(frechet_distance_from_features(gen, feats(train)), rel=1e-6)
    assert abs(copy["test/fid"]) < 1e-6
    assert abs(copy["test/kid"]) < 2 * copy["test/kid_std"] < 0.05  # ~0 up to subset noise
    assert copy["test/precision"] == 1.0 and copy["test/recall"] == 1.0
    assert wrong["test/fid"] > 20 * right["test/fid"] and wrong["test/fid"] > 0.1
    assert wrong["test/kid"] > right["test/kid"] + 10 * max(right["test/kid_std"], 1e-4)
    assert wrong["test/precision"] < 0.1 < 0.8 < right["test/precision"]


def test_fd_classifier_is_the_frechet_distance_of_the_classifier_features(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    dm.setup()
    test_x = dm.get_data("test")[0]

    def make() -> DomainClassifierMetrics:
        return DomainClassifierMetrics(
            metrics=["fd"],
            n_samples=200,
            epochs=3,
            batch_size=200,
            cache_dir=str(tmp_path / "c"),
            strict=True,
        )

    right_model, cb = ImageAutoencoder(), make()
    right = run(tmp_path / "right", cb, right_model, dm)
    wrong = run(tmp_path / "wrong", make(), BlankImages(), dm)
    copy = run(tmp_path / "copy", make(), FixedImages(test_x), dm)
    spec = classifier_extractor.classifier_spec(cb._classifier["path"], cb._classifier["config"])
    ext = fidelity.make_extractor(spec, [spec.feature_layer])
    feats = lambda x: fidelity.extract(ext, x.float())[spec.feature_layer]  # noqa: E731
    direct = frechet_distance_from_features(feats(callback_samples(right_model, 200, 0, 200)), feats(test_x))
    assert right["test/fd_classifier"] == pytest.approx(direct, rel=1e-6)
    assert right["test/fd_classifier_protocol"]["reference_split"] == "test"
    assert abs(copy["test/fd_classifier"]) < 1e-4  # round-off of a 256-d matrix square root
    assert wrong["test/fd_classifier"] > 10 * right["test/fd_classifier"]


def test_memorisation_of_copied_training_images_is_zero_and_matches_brute_force(tmp_path: Path) -> None:
    dm = ClassImages(n=400)
    dm.setup()
    cb = MemorisationMetrics(n_samples=100, n_reference=150, latent=False, batch_size=100, strict=True)
    train_ref, test_ref = cb.references(dm)
    res = run(tmp_path, cb, FixedImages(train_ref), dm)
    a, b = train_ref[:100].flatten(1).double(), test_ref.flatten(1).double()
    d_test = (a[:, None] - b[None]).pow(2).sum(-1).sqrt().min(1).values
    assert res["test/nn_train_dist"] == pytest.approx(0.0, abs=1e-5)
    assert res["test/memorisation_ratio"] == pytest.approx(0.0, abs=1e-5)
    assert res["test/nn_test_dist"] == pytest.approx(d_test.mean().item(), rel=1e-9)
    assert res["test/memorisation_frac_closer_train"] == 1.0

"""The domain classifier: training, caching, per-channel joint logits, mode coverage."""

from __future__ import annotations

import math

import pytest
import torch
from metric_fixtures import class_images
from torch_fidelity.utils import create_feature_extractor

from genexp.metrics import domain_classifier as dc


def test_channel_labels_and_joint_logits() -> None:
    y = torch.tensor([0, 7, 123, 999, 540])
    assert dc.channel_labels(y, 3).tolist() == [[0, 0, 0], [0, 0, 7], [1, 2, 3], [9, 9, 9], [5, 4, 0]]
    config = dc.classifier_config([3, 4, 4], 1000, per_channel=True, hidden=8)
    model = dc.DomainClassifier(config).eval()
    x = torch.randn(6, 3, 4, 4)
    feats, joint = model(x)
    assert feats.shape == (6, 3 * 8) and joint.shape == (6, 1000)
    # the joint distribution is the product of the channel distributions
    per = [torch.log_softmax(model.net(x[:, c : c + 1])[1], 1) for c in range(3)]
    assert torch.allclose(joint.logsumexp(1), torch.zeros(6), atol=1e-5)
    digits = torch.stack([p.argmax(1) for p in per], 1)
    assert torch.equal(joint.argmax(1), digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    expected = per[0][:, 1] + per[1][:, 2] + per[2][:, 3]
    assert torch.allclose(joint[:, 123], expected, atol=1e-5)


def test_classifier_modes() -> None:
    logits = torch.full((4, 10), -5.0)
    logits[[0, 1, 2, 3], [1, 1, 2, 7]] = 5.0
    out = dc.classifier_modes(logits)
    assert out["modes"] == 3 and out["modes_total"] == 10
    p = [0.5, 0.25, 0.25]
    assert out["reverse_kl_log10"] == pytest.approx(sum(v * math.log10(10 * v) for v in p))


def test_train_cache_and_torch_fidelity_extractor(tmp_path) -> None:
    x, y = class_images(400, 4, 8, seed=1)
    xt, yt = class_images(200, 4, 8, seed=3)
    config = dc.classifier_config([1, 8, 8], 4, per_channel=False, epochs=5, max_train=None)
    path = dc.classifier_cache_path(tmp_path, "bands", config, "fp")
    info = dc.fit_and_save(path, config, (x, y), (xt, yt), "bands")
    assert path.is_file() and info["test_acc"] > 0.95 and info["n_train"] == 400
    model, loaded = dc.load_classifier(path)
    assert loaded["test_acc"] == info["test_acc"]
    assert dc.accuracy(model.net, xt, yt) == pytest.approx(info["test_acc"])
    extractor = create_feature_extractor(dc.EXTRACTOR_NAME, ["features", "logits"], cuda=False,
                                         feature_extractor_weights_path=str(path), verbose=False)
    feats, logits = extractor(xt)
    assert feats.shape == (200, 256) and logits.shape == (200, 4)
    assert (logits.argmax(1) == yt).float().mean().item() == pytest.approx(info["test_acc"])
    # the cache key changes with the config
    other = dc.classifier_config([1, 8, 8], 4, per_channel=False, epochs=6, max_train=None)
    assert dc.classifier_cache_path(tmp_path, "bands", other, "fp") != path


def test_per_channel_training_on_stacked_bands(tmp_path) -> None:
    # three independent band digits per image, label 100 d0 + 10 d1 + d2 (digits 0..3, base 10)
    parts = [class_images(300, 4, 8, seed=s) for s in (1, 2, 3)]
    perm = [torch.randperm(300, generator=torch.Generator().manual_seed(s)) for s in (4, 5)]
    x = torch.cat([parts[0][0], parts[1][0][perm[0]], parts[2][0][perm[1]]], dim=1)
    y = parts[0][1] * 100 + parts[1][1][perm[0]] * 10 + parts[2][1][perm[1]]
    config = dc.classifier_config([3, 8, 8], 1000, per_channel=True, epochs=5)
    info = dc.fit_and_save(tmp_path / "c.pt", config, (x[:200], y[:200]), (x[200:], y[200:]), "stacked_bands")
    assert info["n_train"] == 600 and info["test_acc"] > 0.95
    model, _ = dc.load_classifier(tmp_path / "c.pt")
    _, joint = model(x[200:])
    assert (joint.argmax(1) == y[200:]).float().mean() > 0.9

"""The domain classifier's networks and training recipe, layer by layer and step by step: the MLP and
CNN layers, whole-image vs per-channel inputs, the per-channel training view, the batch order and
the Adam step size of :func:`train_classifier` (mutation triage of ``metrics/domain_classifier.py``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import Tensor, nn

from genexp.metrics import classifier_extractor as ce
from genexp.metrics import domain_classifier as dc


def test_default_net_is_pgmgans_mlp_with_hidden_256() -> None:
    net = dc.ClassifierNet([1, 4, 4], 3)
    kinds = [type(m) for m in net.body]
    assert kinds == [nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU]
    first, second = net.body[1], net.body[4]
    assert (first.in_features, first.out_features) == (16, 256)
    assert (second.in_features, second.out_features) == (256, 256)
    assert net.body[3].p == 0.2 and net.dropout.p == 0.2
    assert (net.head.in_features, net.head.out_features) == (256, 3)


def test_cnn_layers_strides_and_pooling() -> None:
    net = dc.ClassifierNet([3, 8, 6], 5, arch="cnn", hidden=16)
    kinds = [type(m) for m in net.body]
    conv, relu = nn.Conv2d, nn.ReLU
    assert kinds == [conv, relu, conv, relu, conv, relu, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear, relu]
    convs = [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding) for m in net.body[:5:2]]
    assert convs == [
        (3, 32, (3, 3), (1, 1), (1, 1)),
        (32, 64, (3, 3), (2, 2), (1, 1)),
        (64, 128, (3, 3), (2, 2), (1, 1)),
    ]
    assert net.body[6].output_size == 2
    assert (net.body[8].in_features, net.body[8].out_features) == (512, 16)
    assert (net.head.in_features, net.head.out_features) == (16, 5)
    feats, logits = net.eval()(torch.randn(2, 3, 8, 6))
    assert feats.shape == (2, 16) and logits.shape == (2, 5) and (feats >= 0).all()


def test_unknown_arch_names_both_choices() -> None:
    with pytest.raises(ValueError, match=r"^unknown classifier arch 'vgg'; use 'mlp' or 'cnn'$"):
        dc.ClassifierNet([1, 4, 4], 3, arch="vgg")


def test_whole_image_classifier_reads_all_channels() -> None:
    config = ce.classifier_config([3, 4, 4], 7, per_channel=False, hidden=8)
    model = dc.DomainClassifier(config).eval()
    assert model.net.body[1].in_features == 3 * 4 * 4
    feats, logits = model(torch.randn(5, 3, 4, 4))
    assert feats.shape == (5, 8) and logits.shape == (5, 7)


def test_per_channel_cnn_gives_the_joint_of_the_channel_distributions() -> None:
    config = ce.classifier_config([2, 8, 8], 100, per_channel=True, arch="cnn", hidden=8)
    model = dc.DomainClassifier(config).eval()
    x = torch.randn(4, 2, 8, 8)
    feats, joint = model(x)
    assert feats.shape == (4, 2 * 8) and joint.shape == (4, 100)
    per = [torch.log_softmax(model.net(x[:, c : c + 1])[1], 1) for c in range(2)]
    assert torch.allclose(joint[:, 37], per[0][:, 3] + per[1][:, 7], atol=1e-5)


def test_per_sample_view_splits_channels_and_digits_in_the_given_base() -> None:
    x = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    y = torch.tensor([1 * 16 + 2 * 4 + 3, 0 * 16 + 1 * 4 + 2])  # base 4: digits (1, 2, 3), (0, 1, 2)
    xv, yv = dc.per_sample_view(x, y, per_channel=True, base=4)
    assert xv.shape == (6, 1, 2, 2) and yv.tolist() == [1, 2, 3, 0, 1, 2]
    assert all(torch.equal(xv[3 * i + c, 0], x[i, c]) for i in range(2) for c in range(3))
    xw, yw = dc.per_sample_view(x, y.float(), per_channel=False, base=4)
    assert xw is x and yw.dtype == torch.long and yw.tolist() == y.tolist()


class _Recorder(nn.Module):
    """Logits from inputs that hold their own row index; records the rows of every training batch.
    Its dropout draws from the global generator, like the real nets."""

    def __init__(self) -> None:
        super().__init__()
        self.drop, self.lin, self.seen = nn.Dropout(0.5), nn.Linear(1, 3), []

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training:
            self.seen.append(x[:, 0].long().tolist())
        h = self.drop(x)
        return h, self.lin(h)


def test_batches_are_the_seeded_permutation_of_their_own_generator() -> None:
    n = 300
    x, y = torch.arange(n, dtype=torch.float32).unsqueeze(1), torch.arange(n) % 3
    model = SimpleNamespace(net=_Recorder())
    dc.train_classifier(model, x, y, epochs=2)  # defaults: batch 128, seed 0
    gen = torch.Generator().manual_seed(0)  # batch order: its own generator, not the one dropout uses
    expected = []
    for _ in range(2):
        perm = torch.randperm(n, generator=gen)
        expected += [perm[i : i + 128].tolist() for i in range(0, n, 128)]
    assert model.net.seen == expected


@pytest.mark.parametrize("lr", [None, 0.05])
def test_one_adam_step_moves_the_head_bias_by_the_learning_rate(lr: float | None) -> None:
    # Adam's first step is lr * g / (|g| + eps): every entry with a nonzero gradient moves by lr
    config = ce.classifier_config([1, 2, 2], 3, per_channel=False, hidden=4)
    torch.manual_seed(0)
    model = dc.DomainClassifier(config)
    before = model.net.head.bias.detach().clone()
    x, y = torch.randn(8, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    kwargs = {} if lr is None else {"lr": lr}
    dc.train_classifier(model, x, y, epochs=1, **kwargs)  # 8 rows: one batch, one step
    step = (model.net.head.bias.detach() - before).abs()
    assert torch.allclose(step, torch.full((3,), lr or 1e-3), rtol=1e-4)

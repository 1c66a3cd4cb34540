"""batch_statistics: BatchNorm on the batch's own statistics without touching the running ones."""

from __future__ import annotations

import torch
from torch import nn

from genexp.nets.batchnorm_mode import batch_statistics


def test_batch_statistics_normalises_by_the_batch_and_keeps_running_stats() -> None:
    bn = nn.BatchNorm1d(2, affine=False)
    bn.running_mean.fill_(5.0)
    bn.running_var.fill_(4.0)
    net = nn.Sequential(nn.Identity(), bn).eval()
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert torch.allclose(net(x), (x - 5.0) / torch.sqrt(torch.tensor(4.0) + bn.eps))  # eval: running stats
    with batch_statistics(net):
        y = net(x)
        assert not net[0].training  # only BatchNorm layers switch
    mean, var = x.mean(0), x.var(0, unbiased=False)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + bn.eps))
    assert torch.equal(bn.running_mean, torch.full((2,), 5.0))
    assert torch.equal(bn.running_var, torch.full((2,), 4.0))
    assert int(bn.num_batches_tracked) == 0
    assert not bn.training and bn.track_running_stats

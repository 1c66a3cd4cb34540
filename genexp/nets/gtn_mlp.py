"""The GTN regressor of Levy-Jurgenson & Yakhini (Table 2): Linear -> LeakyReLU(0.5) -> BatchNorm."""

from __future__ import annotations

from torch import Tensor, nn


class GTNMLP(nn.Module):
    """``n_linear`` Linear layers in all (the last is the plain linear output), width ``width``,
    LeakyReLU(``slope``) after each hidden Linear and BatchNorm1d *after* the activation on the
    first ``bn_layers`` hidden layers (0: none; -1: all)."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 50,
        n_linear: int = 7,
        bn_layers: int = -1,
        slope: float = 0.5,
    ) -> None:
        super().__init__()
        hidden = max(int(n_linear) - 1, 0)
        n_bn = hidden if bn_layers < 0 else min(int(bn_layers), hidden)
        layers: list[nn.Module] = []
        dim = int(in_dim)
        for i in range(hidden):
            layers += [nn.Linear(dim, int(width)), nn.LeakyReLU(slope)]
            if i < n_bn:
                layers.append(nn.BatchNorm1d(int(width)))
            dim = int(width)
        layers.append(nn.Linear(dim, int(out_dim)))
        self.net = nn.Sequential(*layers)

    def forward(self, y: Tensor) -> Tensor:
        """Map Gaussian inputs (n, in_dim) to (n, out_dim)."""
        return self.net(y)

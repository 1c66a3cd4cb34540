"""The amortised Gaussian-process decoder of LC-VaDE (thesis §9.2, eqs. 9.2-9.5, Table 9.1).

z = [z_rep, z_kernel]. z_rep -> induction-point means and stds at I fixed phases t_k = k/(I+1)
(1-D residual up blocks with z_rep-conditioned BatchNorm); z_kernel -> RBF kernel scale
sigma = 10 sigmoid(.) and length l = sigmoid(.) / I. The prediction at observed phases is the GP
posterior given the induction points, of which only the diagonal variance is kept (with a floor).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.errors import ConfigError
from genexp.nets.lc_conv1d import UpBlock1d, check_widths, layer_wrap


def rbf_kernel(a: Tensor, b: Tensor, scale: Tensor, length: Tensor) -> Tensor:
    """k(a_i, b_j) = scale^2 exp(-(a_i - b_j)^2 / (2 length^2)) for rows of a (n, P), b (n, Q)
    and per-row ``scale``, ``length`` (n,): (n, P, Q)."""
    d2 = (a.unsqueeze(-1) - b.unsqueeze(-2)).pow(2)
    return scale.view(-1, 1, 1).pow(2) * torch.exp(-d2 / (2 * length.view(-1, 1, 1).pow(2)))


def gp_condition(
    t_obs: Tensor,
    t_ind: Tensor,
    mu_ind: Tensor,
    std_ind: Tensor,
    scale: Tensor,
    length: Tensor,
    var_floor: float = 1e-4,
    jitter: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    """GP prediction at ``t_obs`` (n, T) given induction values ``mu_ind`` with noise std ``std_ind``
    (n, I) at ``t_ind`` (n, I): mean K_oi K_ii^-1 mu_ind and std sqrt(max(diag(K_oo - K_oi K_ii^-1
    K_io), var_floor)), K_ii = k(t_ind, t_ind) + diag(std_ind^2) (+ jitter); Cholesky solves."""
    k_ii = rbf_kernel(t_ind, t_ind, scale, length)
    k_ii = k_ii + torch.diag_embed(std_ind.pow(2) + jitter)
    chol = torch.linalg.cholesky(k_ii)
    k_io = rbf_kernel(t_ind, t_obs, scale, length)  # n, I, T
    a = torch.linalg.solve_triangular(chol, k_io, upper=False)  # L^-1 K_io
    b = torch.linalg.solve_triangular(chol, mu_ind.unsqueeze(-1), upper=False)  # L^-1 mu
    mean = (a * b).sum(1)
    var = scale.pow(2).unsqueeze(-1) - a.pow(2).sum(1)
    return mean, var.clamp_min(var_floor).sqrt()


class AmortisedGPDecoder(nn.Module):
    """z (n, in_dim) -> GP parameters; :meth:`predict` gives (mean, std) at observed phases.

    Thesis Table 9.1 / Fig. 9.4: ``kernel_dim`` trailing latent units are z_kernel, the rest z_rep.
    z_rep -> linear -> (``channels[0]``, BW) with BW = ``num_inducing`` / 2^blocks, then one
    residual up block per entry of ``channels`` (4C each in the thesis; each doubles the length,
    ending at ``num_inducing`` points) whose BatchNorms are conditioned on z_rep (a separate
    linear pair per BatchNorm), then two output layers "BN, ReLU, conv3 -> 1": the induction
    means (linear) and stds (softplus + 1e-3). z_kernel -> two MLPs (``kernel_hidden`` units =
    BW * 4C in the thesis, ReLU, 1 output) for the kernel scale and length. N(0, ``init_std``)
    weights and spectral norm (``spectral_norm``) on every conv/linear. Called as a genexp decoder
    factory (``in_dim``, ``out_shape``; other keywords are ignored).
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: Sequence[int] = (),
        num_inducing: int = 24,
        kernel_dim: int = 2,
        channels: Sequence[int] = (64, 64, 64),
        kernel_hidden: int = 192,
        var_floor: float = 1e-4,
        spectral_norm: bool = True,
        init_std: float = 0.02,
        **_: Any,
    ) -> None:
        super().__init__()
        wrap = layer_wrap(init_std, spectral_norm)
        widths = check_widths(list(channels), "model.decoder.channels")
        if not 0 < kernel_dim < in_dim:
            raise ConfigError(
                f"model.decoder.kernel_dim must be in (0, latent_dim={in_dim}), got {kernel_dim}"
            )
        if num_inducing % 2 ** len(widths):
            raise ConfigError(
                f"num_inducing={num_inducing} must be divisible by 2^{len(widths)} (one x2 per up block)"
            )
        self.kernel_dim = int(kernel_dim)
        self.num_inducing = int(num_inducing)
        self.var_floor = float(var_floor)
        self.start_len = num_inducing // 2 ** len(widths)
        self.register_buffer(
            "t_ind", torch.arange(1, num_inducing + 1, dtype=torch.float32) / (num_inducing + 1)
        )
        rep_dim = in_dim - kernel_dim
        self.fc = wrap(nn.Linear(rep_dim, widths[0] * self.start_len))
        self.blocks = nn.ModuleList(
            UpBlock1d(c_in, c_out, rep_dim, wrap) for c_in, c_out in zip([widths[0], *widths], widths)
        )

        def head() -> nn.Module:
            conv = wrap(nn.Conv1d(widths[-1], 1, 3, padding=1))
            return nn.Sequential(nn.BatchNorm1d(widths[-1]), nn.ReLU(), conv)

        def mlp() -> nn.Module:
            return nn.Sequential(
                wrap(nn.Linear(kernel_dim, kernel_hidden)),
                nn.ReLU(),
                wrap(nn.Linear(kernel_hidden, 1)),
            )

        self.mean_head, self.std_head = head(), head()
        self.scale_net, self.length_net = mlp(), mlp()

    def forward(self, z: Tensor) -> dict[str, Tensor]:
        """Induction means/stds (n, I) and kernel scale/length (n,)."""
        z_rep, z_ker = z[:, : -self.kernel_dim], z[:, -self.kernel_dim :]
        h = self.fc(z_rep).view(len(z), -1, self.start_len)
        for block in self.blocks:
            h = block(h, z_rep)
        return {
            "mu_ind": self.mean_head(h).squeeze(1),
            "std_ind": F.softplus(self.std_head(h).squeeze(1)) + 1e-3,
            "scale": 10 * torch.sigmoid(self.scale_net(z_ker).squeeze(-1)),
            "length": torch.sigmoid(self.length_net(z_ker).squeeze(-1)) / self.num_inducing,
        }

    def predict(self, z: Tensor, t_obs: Tensor) -> tuple[Tensor, Tensor]:
        """Predicted mean and std (n, T) at phases ``t_obs``."""
        p = self(z)
        t_ind = self.t_ind.expand(len(z), -1)
        return gp_condition(t_obs, t_ind, p["mu_ind"], p["std_ind"], p["scale"], p["length"], self.var_floor)

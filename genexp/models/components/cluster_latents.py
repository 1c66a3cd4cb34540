"""SC-GAN's latent models (spec §4): k-means clusters of the encoder latents and the four ways of
drawing generative-mode latents, plus the per-cluster adversarial autoencoders (stage 2).

Settings (the paper's Table 1 columns): ``gaussian`` (a) one Gaussian fitted to all latents;
``centers`` (b) a cluster i ~ pi, then c_i + s_i * N(0, I); ``mapping`` (c) i ~ pi, then
M_i(omega), omega ~ N(0, I) (SC-GAN proper); ``data`` (d) the latent of a random training point.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genexp.losses.gan import discriminator_loss, generator_loss
from genexp.nets.scgan_batched import BatchedMLP

LatentSetting = Literal["gaussian", "centers", "mapping", "data"]
"""Where generative-mode latents come from (SC-GAN's ``latent_model``)."""
LATENT_SETTINGS = get_args(LatentSetting)


class ClusterLatents(nn.Module):
    """K-means statistics of the training latents: centres, per-dimension stds, weights pi, the
    global mean and covariance factor, and the latents themselves (``bank``; resized on load)."""

    def __init__(self, latent_dim: int, num_clusters: int, kmeans_n_init: int = 10) -> None:
        super().__init__()
        d, k = int(latent_dim), int(num_clusters)
        self.num_clusters, self.kmeans_n_init = k, int(kmeans_n_init)
        self.register_buffer("centers", torch.zeros(k, d))
        self.register_buffer("stds", torch.ones(k, d))
        self.register_buffer("weights", torch.full((k,), 1.0 / k))
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("cov_factor", torch.eye(d))
        self.register_buffer("bank", torch.zeros(1, d))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        if prefix + "bank" in state_dict:
            self.bank = torch.empty_like(state_dict[prefix + "bank"], device=self.bank.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def fit(self, eps: Tensor, seed: int = 0) -> dict[str, float]:
        """k-means (k-means++, ``kmeans_n_init`` restarts) on ``eps``; store every statistic."""
        from genexp.models.components.partitioner import kmeans_labels

        labels = kmeans_labels(eps, self.num_clusters, self.kmeans_n_init, 300, seed).to(eps.device)
        counts = torch.bincount(labels, minlength=self.num_clusters).float()
        for i in range(self.num_clusters):
            members = eps[labels == i]
            self.centers[i] = members.mean(0)
            self.stds[i] = members.std(0, unbiased=False) if len(members) > 1 else 0.0
        self.weights.copy_(counts / counts.sum())
        self.mean.copy_(eps.mean(0))
        cov = torch.cov(eps.t().double()) + 1e-6 * torch.eye(
            eps.shape[1], dtype=torch.float64, device=eps.device
        )
        self.cov_factor.copy_(torch.linalg.cholesky(cov).float())
        self.bank = eps.detach().clone()
        return {"cluster_size_min": counts.min().item(), "cluster_size_max": counts.max().item()}

    def assign(self, eps: Tensor) -> Tensor:
        """The nearest centre of each latent."""
        return torch.cdist(eps, self.centers).argmin(dim=1)

    def draw_clusters(self, n: int) -> Tensor:
        """``n`` cluster indices from pi."""
        return torch.multinomial(self.weights, n, replacement=True)

    def sample(self, n: int, setting: str, mappers: Optional["MappingNetworks"] = None) -> Tensor:
        """``n`` generative-mode latents under ``setting`` (see the module docstring)."""
        d, dev = self.centers.shape[1], self.centers.device
        if setting == "gaussian":
            return self.mean + torch.randn(n, d, device=dev) @ self.cov_factor.t()
        if setting == "data":
            return self.bank[torch.randint(0, len(self.bank), (n,), device=dev)]
        idx = self.draw_clusters(n)
        if setting == "centers":
            return self.centers[idx] + self.stds[idx] * torch.randn(n, d, device=dev)
        if setting == "mapping" and mappers is not None:
            return mappers.decode(torch.randn(n, mappers.omega_dim, device=dev), idx)
        raise ValueError(
            f"unknown latent setting {setting!r} (or no mapping networks); choose {LATENT_SETTINGS}"
        )


class MappingNetworks(nn.Module):
    """One adversarial autoencoder per cluster (Makhzani et al.), all trained at once: encoder
    Q_i: eps -> omega, decoder = mapping network M_i: omega -> eps, critic D_i on omega-space
    (N(0, I) vs Q_i(eps)). Only the M_i are used for sampling (``decode``)."""

    def __init__(
        self,
        latent_dim: int,
        num_clusters: int,
        omega_dim: int = 8,
        hidden: Sequence[int] = (128, 128),
        steps: int = 1000,
        batch_size: int = 256,
        lr: float = 1e-3,
        critic_lr: float = 2e-4,
        normalize_output: bool = False,
    ) -> None:
        super().__init__()
        k, d = int(num_clusters), int(latent_dim)
        self.omega_dim = int(omega_dim)
        self.encoders = BatchedMLP(k, d, self.omega_dim, hidden)
        self.mappers = BatchedMLP(k, self.omega_dim, d, hidden)
        self.critics = BatchedMLP(k, self.omega_dim, 1, hidden)
        self.steps, self.batch_size, self.lr, self.critic_lr = (
            int(steps),
            int(batch_size),
            float(lr),
            float(critic_lr),
        )
        self.normalize_output = bool(normalize_output)

    def _out(self, eps: Tensor) -> Tensor:
        return F.normalize(eps, dim=-1) if self.normalize_output else eps

    def decode(self, omega: Tensor, cluster: Tensor) -> Tensor:
        """M_i(omega) with i = ``cluster`` per row."""
        return self._out(self.mappers.forward_indexed(omega, cluster))

    def fit(self, eps: Tensor, labels: Tensor, seed: int = 0) -> dict[str, float]:
        """``steps`` AAE iterations on all clusters at once: reconstruction (Q, M), critic, regulariser (Q).

        Each iteration draws ``batch_size`` latents per cluster with replacement; per-cluster losses
        are averaged within and summed across clusters, so every AAE trains as if alone.
        """
        gen = torch.Generator(device=eps.device).manual_seed(int(seed))  # draws stay on the device
        k, dev = self.mappers.num_nets, eps.device
        order = torch.argsort(labels)
        sorted_eps = eps[order]
        sizes = torch.bincount(labels, minlength=k).clamp_min(1)
        starts = torch.cumsum(sizes, 0) - sizes
        betas = (0.5, 0.999)
        opt_ae = torch.optim.Adam(
            [*self.encoders.parameters(), *self.mappers.parameters()], lr=self.lr, betas=betas
        )
        opt_q = torch.optim.Adam(self.encoders.parameters(), lr=self.lr, betas=betas)
        opt_d = torch.optim.Adam(self.critics.parameters(), lr=self.critic_lr, betas=betas)
        with torch.enable_grad():
            for _ in range(self.steps):
                pick = (torch.rand(k, self.batch_size, generator=gen, device=dev) * sizes[:, None]).long()
                e = sorted_eps[starts[:, None] + pick]  # (K, B, d)
                rec = (self._out(self.mappers(self.encoders(e))) - e).pow(2).mean(dim=(1, 2)).sum()
                opt_ae.zero_grad(set_to_none=True)
                rec.backward()
                opt_ae.step()
                prior = torch.randn(k, self.batch_size, self.omega_dim, generator=gen, device=dev)
                # the losses average over all K * B rows: times K is the sum of the per-cluster means
                d_loss = k * discriminator_loss(
                    "non_saturating", self.critics(prior), self.critics(self.encoders(e).detach())
                )
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                g_loss = k * generator_loss("non_saturating", self.critics(self.encoders(e)))
                opt_q.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_q.step()
        return {"aae_recon": rec.item() / k, "aae_critic": d_loss.item() / k, "aae_reg": g_loss.item() / k}

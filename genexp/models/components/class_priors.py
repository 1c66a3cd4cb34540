"""Class-conditional Gaussian priors of supervised mixture models (LC-VaDE's p(z|y) and p(f|y)):
their maximum-likelihood fit from labelled values, copying that fit into a diagonal GMM prior, the
density of the fit (the side-feature baseline), a matching start for the posterior's log-variance,
and how far a prior has moved since a snapshot."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genexp.errors import ConfigError


def class_moments(values: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Per-class mean and (biased, maximum-likelihood) variance of ``values`` (n, d) for classes
    0..``num_classes``-1 (rows with other labels are ignored): (K, d) each, the maximum-likelihood
    diagonal Gaussian of each class."""
    means, variances = [], []
    for k in range(int(num_classes)):
        rows = labels == k
        if not bool(rows.any()):
            raise ConfigError(
                f"class {k} has no training rows, so its prior cannot start from class statistics; "
                "set model.prior_init=config or keep every inlier class in the training split"
            )
        v = values[rows].double()
        means.append(v.mean(0))
        variances.append(v.var(0, unbiased=False))
    return torch.stack(means).float(), torch.stack(variances).float()


@torch.no_grad()
def copy_into_prior(prior: nn.Module, means: Tensor, variances: Tensor, min_var: float = 1e-6) -> None:
    """Set a diagonal GMM prior's component means and log-variances (variances floored at
    ``min_var``), on the prior's device and dtype; mixture weights are left as they are."""
    prior.means.copy_(means.to(prior.means))
    prior.logvars.copy_(variances.clamp_min(min_var).log().to(prior.logvars))


def class_gaussian_log_density(values: Tensor, means: Tensor, variances: Tensor) -> Tensor:
    """ln (1/K) sum_k N(values; means_k, diag variances_k) per row: the uniform mixture of the
    class Gaussians (K = len(means))."""
    var = variances.unsqueeze(0)
    comp = -0.5 * (
        (values.unsqueeze(1) - means.unsqueeze(0)).pow(2) / var + var.log() + math.log(2 * math.pi)
    )
    return torch.logsumexp(comp.sum(-1), dim=1) - math.log(len(means))


class PriorDrift(nn.Module):
    """A snapshot of a diagonal GMM prior's means and log-variances (buffers, so checkpoints keep
    it) and the prior's movement since: per component the Euclidean norm of the mean change and
    the mean signed change of the log-variances."""

    def __init__(self, num_components: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("means", torch.zeros(num_components, dim))
        self.register_buffer("logvars", torch.zeros(num_components, dim))
        self.register_buffer("taken", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def snapshot(self, prior: nn.Module) -> None:
        """Keep the prior's current means and (floored) log-variances."""
        self.means.copy_(prior.means.detach())
        self.logvars.copy_(prior.clamped_logvars.detach())
        self.taken.fill_(True)

    @torch.no_grad()
    def drift(self, prior: nn.Module) -> tuple[Tensor, Tensor]:
        """(mean shift (K,), mean log-variance change (K,)) of ``prior`` since the snapshot."""
        shift = (prior.means.detach() - self.means).norm(dim=-1)
        return shift, (prior.clamped_logvars.detach() - self.logvars).mean(-1)


class LogVarianceOffset(nn.Module):
    """A fixed per-dimension offset added to an encoder's log-variance output (a buffer, so
    checkpoints and stage artefacts keep it; zero until :meth:`match` sets it)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(dim))

    def forward(self, logvar: Tensor) -> Tensor:
        """``logvar`` (n, dim) + the offset."""
        return logvar + self.offset

    @torch.no_grad()
    def match(self, logvar: Tensor, target_var: Tensor) -> None:
        """Shift the offset so that the mean of ``logvar`` (n, dim; the offset already applied)
        becomes ln ``target_var`` (dim,) in every dimension."""
        self.offset.add_(target_var.clamp_min(1e-12).log().to(self.offset) - logvar.mean(0).to(self.offset))

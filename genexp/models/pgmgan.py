"""PGMGAN (Armandpour et al., CVPR 2021): a partition-guided mixture of GANs, as one conditional
G(z, i) and one conditional D(x, i) over the parts of a frozen space partitioner.

Stages (one ``python -m genexp model=pgmgan ...`` call):

1. stage ``partitioner`` (in ``on_fit_start``, see :mod:`genexp.models.components.staging`):
   ``partitioner.fit`` on the training data (2-D: k-means + a Linear/MLP classifier; images:
   SimCLR + SCAN), then frozen in eval mode and saved to ``<run>/stages/partitioner.pt``;
   ``model.stages.partitioner=<such a file>`` loads it instead of training. The empirical part
   masses pi are then computed.
2. the GAN (Lightning's loop; :class:`AdversarialModule` schedule): real labels y = argmax S(x)
   per batch, fakes reuse the batch's y (the pi weighting of Eq. 1); the G loss adds
   lambda_t * mean R_y(G(z, y)) (the guide in mean form, annealed linearly over G steps).

Baselines by config: ``guide_weight: 0`` is Partition GAN; ``labels: random`` draws uniform
random ids for every real point at every step (Random Partition ID, no guide); ``num_partitions:
1`` with ``guide_weight: 0`` is a plain GAN with the same nets (spec §8.4).

Images: ``model=pgmgan_image`` (SimCLR + SCAN on the constrained invertible-residual partitioner,
CBN ResNet G, projection D, hinge, 4 D steps per G step; spec §3.1, §3.4, §4).
``cluster(x)`` is the partitioner's part (partition NMI with ``metric=clustering``).

Sampling: y ~ pi, z ~ p(z); in eval mode with ``rejection_tries > 0`` a sample is redrawn (same y)
while the partitioner puts it outside part y, up to that many times, then the last draw is kept
(the official ``SeededRejectionSampler``). ``sample_bn``: ``eval`` (default) normalises G's
BatchNorms with their running statistics, as the official 2-D and image code does (``g.eval()``
before sampling); ``train`` uses the statistics of each sampling batch instead (running statistics
untouched; a rejection redraw is padded to the full batch with fresh draws of y ~ pi, so each
redrawn row sees the same batch size and part mix as the first draw).
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Optional, Sequence, get_args

import torch
from torch import Tensor, nn

from genexp.constraints import NonNegativeFloat, NonNegativeInt, PositiveInt
from genexp.errors import ConfigError
from genexp.losses.gan import generator_loss
from genexp.losses.guide import annealed_weight, guide_distance
from genexp.models.adversarial import AdversarialModule
from genexp.models.components.staging import Stage, StagedModel, freeze, train_tensor
from genexp.nets.batchnorm_mode import batch_statistics
from genexp.run_record import run_record

LabelSource = Literal["partitioner", "random"]
LABEL_SOURCES = get_args(LabelSource)
SampleBN = Literal["eval", "train"]
SAMPLE_BN = get_args(SampleBN)


def rejection_sample(
    draw: Callable[[Tensor], Tensor], accept: Callable[[Tensor, Tensor], Tensor], y: Tensor, max_tries: int
) -> tuple[Tensor, Tensor]:
    """Draw ``x = draw(y)`` and redraw the rows ``accept(x, y)`` refuses, at most ``max_tries`` times.

    Returns ``(x, accepted)``: every row with ``accepted`` True passed ``accept``; rows still
    refused after ``max_tries`` redraws keep their last draw with ``accepted`` False.
    """
    x = draw(y)
    ok = accept(x, y)
    for _ in range(int(max_tries)):
        if bool(ok.all()):
            break
        redo = (~ok).nonzero(as_tuple=True)[0]
        x_new = draw(y[redo])
        x[redo] = x_new
        ok[redo] = accept(x_new, y[redo])
    return x, ok


class PGMGAN(StagedModel, AdversarialModule):
    """Partition-guided GAN: conditional G/D over ``num_partitions`` parts of a frozen partitioner.

    ``generator``/``discriminator`` are factories of class-conditional nets (``forward(z, y)`` /
    ``forward(x, y)``, e.g. :class:`genexp.nets.pgmgan_conditional.ConditionalMLP` and
    :class:`genexp.nets.pgmgan_maxout.MaxoutMLP` with ``num_classes: ${model.num_partitions}``);
    ``partitioner`` is a factory ``(in_shape, num_parts) -> module`` with ``forward(x) -> logits``
    and ``fit(x, seed) -> diagnostics``. See the module docstring for stages and baselines.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        generator: Callable[..., nn.Module],
        discriminator: Callable[..., nn.Module],
        partitioner: Callable[..., nn.Module],
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        num_partitions: PositiveInt = 25,
        labels: LabelSource = "partitioner",
        guide_weight: NonNegativeFloat = 6.0,
        guide_anneal_steps: NonNegativeInt = 50_000,
        guide_floor: NonNegativeFloat = 1e-4,
        guide_reduction: Literal["mean", "sum"] = "mean",
        rejection_tries: NonNegativeInt = 20,
        sample_bn: SampleBN = "eval",
        stages: Optional[dict[str, Optional[str]]] = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if labels not in LABEL_SOURCES:
            raise ConfigError(f"model.labels={labels!r} is unknown; choose one of {list(LABEL_SOURCES)}")
        if guide_weight < 0 or guide_floor < 0:
            raise ConfigError("model.guide_weight and model.guide_floor must be >= 0")
        if rejection_tries < 0:
            raise ConfigError(f"model.rejection_tries must be >= 0, got {rejection_tries}")
        if guide_reduction not in ("mean", "sum"):
            raise ConfigError(f"model.guide_reduction must be mean or sum, got {guide_reduction!r}")
        if sample_bn not in SAMPLE_BN:
            raise ConfigError(f"model.sample_bn={sample_bn!r} is unknown; choose one of {list(SAMPLE_BN)}")
        super().__init__(data_shape, generator, discriminator, g_optimizer, d_optimizer, **kwargs)
        self.num_partitions = int(num_partitions)
        self.labels = labels
        self.guide_weight, self.guide_floor = float(guide_weight), float(guide_floor)
        self.guide_anneal_steps, self.guide_reduction = int(guide_anneal_steps), guide_reduction
        self.rejection_tries = int(rejection_tries)
        self.sample_bn = sample_bn
        self.seed = int(seed)
        self.partitioner = freeze(partitioner(in_shape=self.data_shape, num_parts=self.num_partitions))
        self.register_buffer("part_probs", torch.full((self.num_partitions,), 1.0 / self.num_partitions))
        self.init_stages(["partitioner"], stages)
        self.register_buffer("g_updates", torch.zeros((), dtype=torch.long))
        self._g_updates_host: Optional[int] = None  # g_updates on the host, so a G step needs no sync
        # (accepted, drawn) rows of rejection sampling since the test phase started
        self.register_buffer("accepted", torch.zeros(2, dtype=torch.long), persistent=False)

    # -- stage 1 ---------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Train (or load) the partitioner unless this run already has it (see module docstring)."""
        self._g_updates_host = None  # re-read after Lightning restored a checkpoint
        if not self.stage_done("partitioner"):
            self.prepare_partitioner(train_tensor(self.trainer))

    def prepare_partitioner(self, x: Tensor) -> dict[str, Any]:
        """Stage ``partitioner``: fit or load it on training inputs ``x``, freeze it and set the
        part masses (a no-op stage for random ids)."""
        needs = self.labels == "partitioner"

        def train() -> dict[str, Any]:
            if not needs:
                return {}
            return self.partitioner.fit(x.to(self.device), seed=self.seed)

        info = self.run_stages([Stage("partitioner", train, {"partitioner": self.partitioner})])
        if needs:
            with torch.no_grad():
                parts = torch.cat([self.partitioner.assign(b.to(self.device)) for b in x.split(10_000)])
            counts = torch.bincount(parts, minlength=self.num_partitions).float()
            self.part_probs.copy_(counts / counts.sum())
        return info

    def train(self, mode: bool = True) -> "PGMGAN":
        """Switch modes; the frozen partitioner always stays in eval mode."""
        super().train(mode)
        self.partitioner.eval()
        return self

    # -- the GAN ---------------------------------------------------------------------------------
    def condition(self, real: Tensor) -> Tensor:
        """Part ids of a real batch: the partitioner's arg-max, or uniform random ids."""
        if self.labels == "random":
            return torch.randint(0, self.num_partitions, (real.shape[0],), device=real.device)
        with torch.no_grad():
            return self.partitioner.assign(real)

    def generate(self, n: int, cond: Optional[Tensor] = None) -> Tensor:
        """G(z, y) for ``n`` prior draws; y defaults to draws from the part masses."""
        y = cond if cond is not None else self.draw_parts(n)
        return self.generator(self.prior.sample(n), y)

    def critic(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """D(x, y): the logit of part y."""
        return self.discriminator(x, cond).view(-1)

    def guide_weight_now(self, g_updates: Optional[int] = None) -> float:
        """lambda_t after ``g_updates`` generator updates (default: the ``g_updates`` buffer); 0
        without a guide (random ids or weight 0)."""
        if self.labels == "random" or self.guide_weight == 0:
            return 0.0
        step = int(self.g_updates) if g_updates is None else int(g_updates)
        return annealed_weight(step, self.guide_weight, self.guide_anneal_steps, self.guide_floor)

    def generator_step(self, batch_size: int) -> dict[str, Tensor]:
        """Adversarial loss + lambda_t * guide on G(z, y), y from the last D step."""
        y = getattr(self, "_cond", None)
        y = y if y is not None else self.draw_parts(batch_size)
        fake = self.generate(batch_size, y)
        adv = generator_loss(self.loss_name, self.critic(fake, y))
        if self._g_updates_host is None:  # the buffer read once per fit (it may come from a checkpoint)
            self._g_updates_host = int(self.g_updates)
        lam = self.guide_weight_now(self._g_updates_host)
        out = {"g_loss": adv, "guide_weight": adv.new_full((), lam, dtype=torch.float32)}
        loss = adv
        if lam > 0:
            guide = guide_distance(self.partitioner(fake), y, self.guide_reduction).mean()
            loss = loss + lam * guide
            out["guide"] = guide
        self.g_updates += 1
        self._g_updates_host += 1
        out["loss"] = loss
        return out

    def cluster(self, x: Tensor) -> Tensor:
        """The partitioner's part of each input (partition NMI/accuracy against labels, spec Table 5)."""
        return self.partitioner.assign(x)

    # -- sampling --------------------------------------------------------------------------------
    def draw_parts(self, n: int) -> Tensor:
        """``n`` part ids from the empirical part masses."""
        return torch.multinomial(self.part_probs, n, replacement=True)

    def _draw(self, y: Tensor, batch: int) -> Tensor:
        """G(z, y) for fresh z; with batch-statistic BatchNorm (``sample_bn: train``) outside
        training, ``y`` is padded with draws from pi to ``batch`` rows and only its own rows kept."""
        if self.training or self.sample_bn == "eval":
            return self.generator(self.prior.sample(len(y)), y)
        full = torch.cat([y, self.draw_parts(batch - len(y))]) if len(y) < batch else y
        with batch_statistics(self.generator):
            return self.generator(self.prior.sample(len(full)), full)[: len(y)]

    def sample(self, n: int) -> Tensor:
        """y ~ pi, x = G(z, y); with rejection in eval mode (see the module docstring)."""
        y = self.draw_parts(n)
        draw = lambda yy: self._draw(yy, n)  # noqa: E731
        if self.training or self.rejection_tries == 0 or self.labels == "random" or self.num_partitions == 1:
            return draw(y)
        x, ok = rejection_sample(
            draw, lambda xx, yy: self.partitioner.assign(xx) == yy, y, self.rejection_tries
        )
        self.accepted += torch.stack([ok.sum(), torch.tensor(n, device=ok.device)])
        return x

    def on_test_epoch_start(self) -> None:
        """Reset the acceptance counter of rejection sampling."""
        self.accepted.zero_()

    def on_test_epoch_end(self) -> None:
        """Record the share of eval samples accepted by rejection sampling (``test/rejection_accept``)."""
        drawn = int(self.accepted[1])
        if drawn and self.trainer is not None:
            run_record(self.trainer).record(
                self.trainer, {"test/rejection_accept": int(self.accepted[0]) / drawn}
            )

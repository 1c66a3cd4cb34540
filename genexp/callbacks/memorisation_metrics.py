"""Nearest-neighbour memorisation of generated samples: distance to the nearest training image vs
to the nearest test image (equal-sized random reference sets); also in latent space for models that
generate codes (``sample_latent``) and encode data (e.g. latent GTN)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from genexp.callbacks.metric_base import MetricCallback, datamodule_of, has_capability
from genexp.metrics.memorisation import memorisation_scores


class MemorisationMetrics(MetricCallback):
    """``memorisation_ratio`` = mean NN distance to train / to test, ``nn_train_dist``,
    ``nn_test_dist`` and ``memorisation_frac_closer_train``, over ``n_samples`` flattened samples
    and ``n_reference`` random images of each split (capped by the smaller split, so both
    reference sets have the same size). With ``latent`` (and a model offering ``sample_latent``
    and ``encode``) the same keys prefixed ``latent_`` compare generated codes with the codes of the
    same reference images. Also records ``memorisation_protocol``.

    The reference subsets are the yardstick (which training images a copy can be caught against),
    so they are drawn with ``reference_seed`` (default 0, a protocol value): the same images for
    every run on the dataset. The run's ``seed`` only draws the generated samples.
    """

    default_name = "memorisation"

    def __init__(
        self,
        n_samples: int = 5000,
        n_reference: int = 10000,
        train_split: str = "train",
        test_split: str = "test",
        latent: bool = True,
        seed: int = 0,
        reference_seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_samples = int(n_samples)
        self.n_reference = int(n_reference)
        self.splits = (train_split, test_split)
        self.latent = bool(latent)
        self.seed = int(seed)
        self.reference_seed = int(reference_seed)

    def skip_reason(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        """Needs a sampler and a datamodule."""
        if not has_capability(pl_module, "sample"):
            return f"{type(pl_module).__name__} cannot sample"
        if datamodule_of(trainer) is None:
            return "the trainer has no datamodule"
        return None

    def _latent_ok(self, pl_module: L.LightningModule) -> bool:
        return self.latent and all(has_capability(pl_module, c) for c in ("sample_latent", "encode"))

    def references(self, dm: Any) -> list[Tensor]:
        """Random subsets (drawn with ``reference_seed``), of equal size, of the train and test
        splits (model input form)."""
        raw = [dm.split(name)[0] for name in self.splits]
        n = min(self.n_reference, *(len(x) for x in raw))
        gen = torch.Generator().manual_seed(self.reference_seed)
        return [dm.decode_batch(x[torch.randperm(len(x), generator=gen)[:n]]) for x in raw]

    def collect(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Any:
        """Flattened samples and references; codes of both when the latent check applies."""
        refs = self.references(datamodule_of(trainer))
        out: dict[str, Any] = {
            "x": self.gather_samples(
                trainer, pl_module, self.n_samples, self.seed, lambda x: {"x": x.flatten(1).float()}
            )["x"],
            "ref": [r.flatten(1).float() for r in refs],
        }
        if self._latent_ok(pl_module):

            def latents(start: int, stop: int) -> dict[str, Tensor]:  # same seeds: the samples' codes
                with self.seeded(pl_module, self.seed, start):
                    return {"z": pl_module.sample_latent(stop - start).float()}

            def encode(xb: Tensor, _: Tensor | None) -> dict[str, Tensor]:
                return {"z": pl_module.encode(xb).float()}

            out["z"] = self.gather_chunks(trainer, pl_module, self.n_samples, latents)["z"]
            out["z_ref"] = [self.gather_rows(trainer, pl_module, r, None, encode)["z"] for r in refs]
        return out

    def score(self, collected: Any, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """Pixel-space (and latent-space) scores and the protocol."""
        out: dict[str, Any] = dict(memorisation_scores(collected["x"], *collected["ref"]))
        if "z" in collected:
            latent = memorisation_scores(collected["z"], *collected["z_ref"])
            out.update({f"latent_{k}": v for k, v in latent.items()})
        out[f"{self.name}_protocol"] = {
            "n_samples": len(collected["x"]),
            "n_reference": len(collected["ref"][0]),
            "splits": list(self.splits),
            "seed": self.seed,
            "reference_seed": self.reference_seed,
            "distance": "L2, flattened model-input space",
            "latent": "z" in collected,
        }
        return out

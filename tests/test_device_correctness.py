"""No model, stage, callback, metric, net, prior or loss is bound to a device: the static scan of
:mod:`helpers.device_scan` finds nothing outside :data:`ALLOWED` (each entry says why it is safe),
the scan catches the patterns it is for (the old latent-GTN stage among them), and latent GTN's
stages run inside the run's own trainer, on its device and in its precision."""

from __future__ import annotations

import functools
from pathlib import Path

import lightning as L
import torch
from helpers.device_scan import Finding, scan_package, scan_sources
from helpers.model_steps import train_model_steps
from torch import nn

PACKAGE = Path(__file__).resolve().parents[1] / "genexp"
SCANNED = ("models", "callbacks", "metrics", "nets", "priors", "losses")

ALLOWED = {
    "callbacks/guards.py:on_train_batch_end:host-sync": (
        "the NaN guard's job is to read the loss: once every callbacks.finite_loss_guard."
        "check_every_n_steps steps (raise it on a GPU to sync less); .cpu().item() only formats "
        "the error of a loss that is already non-finite"
    ),
    "metrics/domain_classifier.py:train_classifier:host-tensor": (
        "a metric protocol's classifier: its per-epoch permutation comes from a seeded CPU "
        "generator so the cached network is the same on every device (once per epoch)"
    ),
    "models/components/gmm_init.py:fit_gmm_restarts:host-sync": (
        "the GMM initialisation stage fits with scikit-learn on the host by design: one read per restart"
    ),
    "models/deterministic_ae.py:fit_novelty_variance:host-sync": (
        "an evaluation pass (the novelty score's variance), not training: one read per chunk"
    ),
    "models/gen.py:h:host-sync": (
        "reads the bandwidth buffer once per value (cached by the buffer's version counter)"
    ),
    "models/gen.py:refresh_kde:host-tensor": (
        "a CPU permutation of the host-held KDE images every k_b steps; the chosen images are "
        "copied to the device once per refresh"
    ),
    "models/gtn.py:_next_rows:host-tensor": (
        "a CPU permutation once per pass over the pairs (the same order on every device), copied "
        "to the device once; the pairs themselves live on the device"
    ),
    "models/pgmgan.py:rejection_sample:host-sync": (
        "eval-mode rejection sampling (metrics, figures): PGMGAN.sample never calls it in training mode"
    ),
    "models/pgmgan.py:guide_weight_now:host-sync": (
        "only when called without a count (tests, diagnostics); generator_step passes its host count"
    ),
    "models/pgmgan.py:generator_step:host-sync": (
        "reads g_updates once per fit (it may come from a checkpoint); later G steps count on the host"
    ),
    "nets/pgmgan_iresnet.py:forward:host-sync": (
        "ActNorm reads its initialised flag once per module (and after a state-dict load), not per step"
    ),
}


@functools.lru_cache(maxsize=1)
def package_findings() -> tuple[Finding, ...]:
    """The scan of the package (once per test session)."""
    return tuple(scan_package(PACKAGE, SCANNED))


def test_no_device_bound_code_outside_the_allow_list() -> None:
    new = [f for f in package_findings() if f.location not in ALLOWED]
    lines = [f"genexp/{f.path}:{f.line} in {f.function} ({f.pattern}): {f.code}" for f in new]
    assert not new, (
        "device-bound code (use the module's/batch's device or self.device, no Trainer of your own, "
        "no host reads in a training step; or add the location to ALLOWED with the reason):\n"
        + "\n".join(lines)
    )


def test_every_allow_list_entry_still_matches_something() -> None:
    found = {f.location for f in package_findings()}
    assert not set(ALLOWED) - found, f"stale ALLOWED entries: {sorted(set(ALLOWED) - found)}"


OLD_LATENT_GTN = '''
import lightning as L
import torch


class LatentGTN(GTN):
    def _train_or_load_autoencoder(self) -> None:
        """Stage 1 (the code of the latent-GTN bug: a Trainer of its own, on the CPU)."""
        if self.autoencoder_ckpt:
            self.autoencoder.load_state_dict(torch.load(self.autoencoder_ckpt, map_location="cpu"))
        else:
            inner = L.Trainer(
                max_epochs=self.ae_epochs,
                accelerator="cpu",
                logger=False,
            )
            inner.fit(self.autoencoder, datamodule=self.trainer.datamodule)
'''

PER_STEP = """
import torch
from genexp.losses.helpers import penalty


class Model:
    def __init__(self):
        self.register_buffer("count", torch.zeros(()))
        self.eps = torch.zeros(3)  # construction: buffers follow the module to its device

    def log_values(self, loss):
        return {"loss": loss.item()}

    def training_step(self, batch, batch_idx):
        noise = torch.randn(3)
        if torch.isnan(batch[0]).any():
            pass
        steps = int(self.count)
        self.log_values(penalty(batch[0]))
        return batch[0].sum() + noise.sum() + steps

    def evaluate(self, x):
        return x.cpu().numpy()  # not per step: no finding


def fit(model, x, steps):
    for _ in range(steps):
        loss = model(x[torch.randint(0, len(x), (8,))])
        print(loss.item())
    return float(loss.detach().cpu())  # after the loop: once per stage
"""

HELPER = """
def penalty(z):
    return z.pow(2).sum().cpu()
"""


def test_the_scan_catches_the_old_latent_gtn_stage() -> None:
    found = {(f.function, f.pattern, f.line) for f in scan_sources({"models/latent_gtn.py": OLD_LATENT_GTN})}
    assert found == {
        ("_train_or_load_autoencoder", "trainer", 12),  # L.Trainer(...) in a model
        ("_train_or_load_autoencoder", "literal-device", 12),  # ... with accelerator="cpu"
    }  # (map_location="cpu" of torch.load is not a device the module or its data run on)


def test_the_scan_catches_host_syncs_and_host_tensors_in_training_steps() -> None:
    found = {
        f.location + f":{f.line}"
        for f in scan_sources({"models/model.py": PER_STEP, "losses/helpers.py": HELPER})
    }
    assert found == {
        "models/model.py:log_values:host-sync:12",  # a method the step calls
        "models/model.py:training_step:host-tensor:15",  # torch.randn without device=
        "models/model.py:training_step:host-sync:16",  # if <tensor>.any()
        "models/model.py:training_step:host-sync:18",  # int(<buffer>)
        "losses/helpers.py:penalty:host-sync:3",  # an imported function the step calls
        "models/model.py:fit:host-tensor:28",  # a stage loop: CPU indices every iteration
        "models/model.py:fit:host-sync:29",  # ... and a read every iteration
    }


def test_latent_gtn_stages_run_in_the_runs_trainer_device_and_precision(tmp_path: Path, monkeypatch) -> None:
    """Issue 13's bug, dynamically: the autoencoder stage builds no Trainer of its own and trains
    on the outer trainer's device under its bf16 autocast (the bug trained it on the CPU in fp32)."""
    built: list[dict] = []
    init = L.Trainer.__init__

    def counting_init(self, *args, **kwargs):
        built.append(kwargs)
        init(self, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "__init__", counting_init)
    seen: set[tuple[torch.dtype, bool, str]] = set()

    def hook_autoencoder(module, trainer) -> None:
        for layer in module.autoencoder.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                layer.register_forward_hook(
                    lambda m, a, out: seen.add((out.dtype, torch.is_grad_enabled(), str(out.device)))
                )

    report = train_model_steps(
        "latent_gtn", tmp_path, "trainer.precision=bf16-mixed", before_fit=hook_autoencoder
    )
    device = str(report.trainer.strategy.root_device)
    assert len(built) == 1, f"a stage built its own Trainer: {built[1:]}"
    assert report.model.stage_done("autoencoder") and report.finite
    assert (torch.bfloat16, True, device) in seen, seen  # trained (gradients on) in the run's bf16
    assert {d for _, _, d in seen} == {device}

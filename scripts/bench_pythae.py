"""The pythae side of ``bench_overhead.py``: pythae 0.1.2's ``TrainingPipeline`` on the same VAE.

pythae never enters genexp's dependencies: :func:`ensure_pythae` installs it with
``pip install --no-deps --target .bench_peers`` (an ignored folder at the repository root), with
the modules it imports at import time that this environment lacks (``imageio`` here; the others
come with genexp's own dependencies), and puts that folder on ``sys.path``.

:func:`run_pythae` trains ``bench_overhead.plain_vae()``'s nets as a pythae ``VAE`` (MSE
reconstruction, Adam, pythae's default callbacks: progress bar and metric printer) on the decoded
training images held in memory, with the validation split as pythae's eval data. Its clock runs
from the start of the first epoch's batch loop (pythae's ``on_train_step_begin``) to the end of
the last epoch (``on_epoch_end``, after that epoch's evaluation and pythae's best-model copy):
the boundary that genexp's ``train_loop_s`` and the plain loop time.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / ".bench_peers"
PYTHAE = "pythae==0.1.2"
IMPORT_TIME_MODULES = {  # what `import pythae` imports, by module -> distribution (pinned)
    "imageio": "imageio==2.38.2",
    "cloudpickle": "cloudpickle",
    "pydantic": "pydantic>=2",
    "pydantic_core": "pydantic-core",
    "annotated_types": "annotated-types",
    "typing_inspection": "typing-inspection",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
}


def _installed_version(folder: Path) -> str | None:
    dist = sorted(folder.glob("pythae-*.dist-info"))
    return dist[-1].name[len("pythae-") : -len(".dist-info")] if dist else None


def ensure_pythae(folder: Path = PEERS_DIR) -> str:
    """Install pythae (and its missing import-time modules) into ``folder`` once, without their
    dependencies, and make it importable; returns pythae's version."""
    folder.mkdir(exist_ok=True)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    missing = [dist for mod, dist in IMPORT_TIME_MODULES.items() if importlib.util.find_spec(mod) is None]
    if _installed_version(folder) != PYTHAE.split("==")[1] or missing:
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade", "--target"]
        subprocess.run([*cmd, str(folder), PYTHAE, *missing], check=True)
        importlib.invalidate_caches()
    importlib.import_module("pythae")
    return str(_installed_version(folder))


def _pythae_vae(latent_dim: int) -> Any:
    """A pythae VAE around ``bench_overhead.plain_vae()``'s encoder and decoder."""
    from bench_overhead import plain_vae
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> Any:
            mu, logvar = self.net(x).chunk(2, dim=1)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, z: torch.Tensor) -> Any:
            return ModelOutput(reconstruction=self.net(z).view(-1, 1, 28, 28))

    enc, dec = plain_vae()
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=latent_dim, reconstruction_loss="mse")
    return VAE(config, encoder=Encoder(enc), decoder=Decoder(dec))


def _clock() -> Any:
    """A pythae callback that times the first epoch's batch loop to the last epoch's end."""
    from pythae.trainers.training_callbacks import TrainingCallback

    class Clock(TrainingCallback):
        def __init__(self) -> None:
            self.start: float | None = None
            self.end = 0.0
            self.steps = 0

        def on_train_step_begin(self, training_config: Any, **kwargs: Any) -> None:
            if self.start is None:
                self.start = time.perf_counter()

        def on_train_step_end(self, training_config: Any, **kwargs: Any) -> None:
            self.steps += 1

        def on_epoch_end(self, training_config: Any, **kwargs: Any) -> None:
            self.end = time.perf_counter()

    return Clock()


def run_pythae(
    train_x: torch.Tensor, val_x: torch.Tensor, epochs: int, batch: int, eval_batch: int
) -> tuple[float, int]:
    """Train with pythae's ``TrainingPipeline`` on the CPU; return (seconds, optimizer steps)."""
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig

    torch.manual_seed(0)
    model = _pythae_vae(latent_dim=16)
    clock = _clock()
    with tempfile.TemporaryDirectory() as out:
        config = BaseTrainerConfig(
            output_dir=out,
            num_epochs=epochs,
            learning_rate=1e-3,
            per_device_train_batch_size=batch,
            per_device_eval_batch_size=eval_batch,
            optimizer_cls="Adam",
            no_cuda=True,
        )
        TrainingPipeline(model=model, training_config=config)(
            train_data=train_x, eval_data=val_x, callbacks=[clock]
        )
    return clock.end - (clock.start if clock.start is not None else clock.end), clock.steps

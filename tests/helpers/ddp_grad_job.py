"""One training step of the shipped VAE config on 1 process (``trainer=cpu``) or 2 (``trainer=ddp_cpu``,
gloo DDP) and each rank's gradients after DDP's all-reduce, saved as ``grads_rank{r}.pt``. Used by
test_ddp_gradients.py.

    python tests/helpers/ddp_grad_job.py --devices 2 --batch 8 --out DIR

The training split has exactly ``devices * batch`` rows, so the step covers the whole split on
any number of processes. The reparameterisation noise is replaced by a fixed function of each
row's posterior mean, so a row gets the same noise whichever process encodes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import lightning as L
    import torch
    from hydra import compose, initialize_config_dir

    import genexp.models.autoencoder as autoencoder
    from genexp.config import CONFIG_DIR, register_resolvers
    from genexp.train import instantiate

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = args.devices * args.batch
    register_resolvers()
    # composed without Hydra's runtime config: Lightning would pass Hydra run options to rank 1
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        overrides = [
            "model=vae",
            "trainer=" + ("ddp_cpu" if args.devices > 1 else "cpu"),
            f"trainer.devices={args.devices}",
            "trainer.max_steps=1",
            "trainer.limit_val_batches=0",
            "trainer.enable_progress_bar=false",
            "dataset=ring8",
            f"dataset.n_train={rows}",
            f"dataset.batch_size={args.batch}",
            "model.latent_dim=3",
            "model.encoder.hidden=[16]",
            "model.decoder.hidden=[16]",
        ]
        cfg = compose(config_name="train", overrides=overrides)

    def row_noise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + (0.5 * logvar).exp() * torch.cos(7.0 * mu.detach() + 1.0)

    autoencoder.reparameterize = row_noise
    torch.manual_seed(0)
    model = instantiate(cfg.model, "model")
    datamodule = instantiate(cfg.dataset, "dataset")

    class SaveGradients(L.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            grads = {
                k: p.grad.detach().clone() for k, p in pl_module.named_parameters() if p.grad is not None
            }
            torch.save(grads, out / f"grads_rank{trainer.global_rank}.pt")

    trainer = instantiate(
        cfg.trainer,
        "trainer",
        callbacks=[SaveGradients()],
        logger=False,
        enable_checkpointing=False,
        default_root_dir=str(out),
    )
    trainer.fit(model, datamodule=datamodule)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

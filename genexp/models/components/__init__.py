"""What models are built from but is not a model: partitioners, contrastive encoders, latent
pairing, per-cluster latents, EMA (and the staging mechanism)."""

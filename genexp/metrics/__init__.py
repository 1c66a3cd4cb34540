"""Pure metric functions (no Lightning): Fréchet distance, torch-fidelity wrappers, clustering,
anomaly detection, 2-D mode metrics, domain classifiers and latent-space diagnostics."""

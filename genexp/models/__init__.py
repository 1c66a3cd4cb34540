"""One LightningModule per model; base classes hold what models share."""

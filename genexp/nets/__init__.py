"""Network building blocks shared by all models."""

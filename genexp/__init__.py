"""genexp: a config-driven experiment framework for generative models."""

__version__ = "0.1.0"

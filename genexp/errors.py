"""User-facing error types: the CLI prints these as one line, without a traceback."""

from __future__ import annotations


class GenexpError(Exception):
    """Base class for errors a user can cause and fix (bad config, missing data, ...)."""


class ConfigError(GenexpError):
    """An unknown, mistyped or impossible configuration value."""


class DataError(GenexpError):
    """Missing or malformed data files; the message says where to put them and how to get them."""


class TrainingError(GenexpError):
    """Training cannot go on (e.g. a NaN/inf loss); the last good checkpoint is kept."""


class CheckpointError(GenexpError):
    """A checkpoint file is missing, corrupt or from an incompatible run."""

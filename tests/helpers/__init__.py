"""Shared test helpers: the CLI runner (:mod:`helpers.cli`) and metric fixtures."""

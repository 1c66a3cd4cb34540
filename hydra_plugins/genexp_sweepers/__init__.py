"""genexp's Hydra sweeper plugins (Hydra loads sweepers only from the ``hydra_plugins`` namespace).

``ContinuingOptunaSweeper`` is hydra-optuna-sweeper's sweeper with a study that continues when the
sweep is run again in the same folder; the logic is in :mod:`genexp.sweep_optuna`.
"""

from __future__ import annotations

from typing import Any

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper


class ContinuingOptunaSweeper(OptunaSweeper):
    """``OptunaSweeper`` (same parameters) whose study continues: see :mod:`genexp.sweep_optuna`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from genexp.sweep_optuna import ContinuingImpl

        self.sweeper = ContinuingImpl(*args, **kwargs)

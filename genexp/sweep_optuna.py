"""An Optuna sweeper whose study continues: ``hydra/sweeper=optuna_search``
(``hydra_plugins.genexp_sweepers.ContinuingOptunaSweeper``, which runs this module's sweeper).

hydra-optuna-sweeper 1.3 numbers its jobs from 0 and runs ``n_trials`` new trials on every call, so
a second run of a sweep over the same persistent study would write into the folders of the first
trials and never finish the trial that was running when the first run was killed. This sweeper
(``configs/hydra/sweeper/optuna_search.yaml``, the study in ``<sweep dir>/optuna.db``) instead

- treats ``n_trials`` as the size of the whole study: a re-run only adds the missing trials;
- runs again each trial the storage still marks as running (its process died), in its own job
  folder with its own parameters, so the job resumes from its ``last.ckpt``
  (:mod:`genexp.sweep_resume`), and tells the study its result;
- numbers new jobs after the study's trials (job folder ``N`` is trial ``N``) and reseeds the
  sampler, so a continued study does not draw the first trials' parameters again.

How a job's result reaches the study is the plugin's. A job that raises becomes a failed trial,
but with the default ``max_failure_rate: 0.0`` the plugin then re-raises and ends the sweep; so a
genexp job that fails returns None instead (:mod:`genexp.sweep_resume`), which the plugin records
as a failed trial (``TrialState.FAIL``, no value) and goes on; a NaN metric is refused by
``study.tell`` and recorded as failed too. The reseeded sampler draws from fresh entropy, so the
trials added by a continued run are not reproducible from ``seed``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Optional

import optuna
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl, create_params_from_overrides
from optuna.trial import TrialState

log = logging.getLogger(__name__)


def _values(job_return: Any, n_objectives: int) -> Optional[list[float]]:
    """The job's objective values, or None when it failed or returned no finite number."""
    try:
        value = job_return.return_value
    except Exception:  # the job raised: the plugin's JobReturn re-raises on access
        return None
    try:
        values = [float(value)] if n_objectives == 1 else [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return values if len(values) == n_objectives and all(math.isfinite(v) for v in values) else None


class ContinuingImpl(OptunaSweeperImpl):
    """The plugin's sweeper with a study that continues (see the module docstring); Hydra reaches
    it through ``hydra_plugins.genexp_sweepers.ContinuingOptunaSweeper``."""

    def sweep(self, arguments: list[str]) -> None:
        """Finish interrupted trials, then let the plugin run the trials still missing."""
        if self.storage is not None:
            Path(str(self.sweep_dir)).mkdir(parents=True, exist_ok=True)  # SQLite needs the folder
            study = optuna.create_study(
                study_name=self.study_name,
                storage=self.storage,
                directions=self._get_directions(),
                load_if_exists=True,
            )
            if study.get_trials(deepcopy=False):
                self._continue(study, arguments)
        try:
            super().sweep(arguments)
        except ValueError as err:  # every trial failed: the plugin finds no best trial
            if not self._none_completed(err):
                raise
            log.warning("genexp: no trial of the study finished; optimization_results.yaml not written")

    def _none_completed(self, err: ValueError) -> bool:
        """Whether ``err`` is the plugin's search for a best trial in a study without one."""
        if "No trials are completed yet" in str(err):  # in-memory storage
            return True
        if self.storage is None:
            return False
        study = optuna.load_study(study_name=self.study_name, storage=self.storage)
        return not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    def _continue(self, study: optuna.Study, arguments: list[str]) -> None:
        self._process_searchspace_config()
        _, fixed = create_params_from_overrides(self._parse_sweeper_params_config() + list(arguments))
        n_objectives = len(study.directions)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            overrides = tuple(f"{name}={value}" for name, value in {**trial.params, **fixed}.items())
            log.info(f"genexp: continuing interrupted trial {trial.number}: {' '.join(overrides)}")
            [job_return] = self.launcher.launch([overrides], initial_job_idx=trial.number)
            values = _values(job_return, n_objectives)
            if values is None:
                study.tell(trial.number, state=TrialState.FAIL)
            else:
                study.tell(trial.number, values=values)
        done = len(study.get_trials(deepcopy=False))
        log.info(f"genexp: study {study.study_name} continues after {done} trials (n_trials={self.n_trials})")
        self.n_trials = max(0, int(self.n_trials) - done)
        self.job_idx = done
        if hasattr(self.sampler, "reseed_rng"):
            self.sampler.reseed_rng()

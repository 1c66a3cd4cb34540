"""The Hydra callback that writes a sweep's page after its last job (``hydra.callbacks.report``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class SweepReport(Callback):
    """``on_multirun_end``: write ``<sweep dir>/report.html``. A failed job (a Hydra job that
    raised) gets a ``status.json`` with its error if its run did not write one, and the page is
    written at once too: the basic sweeper raises after such a job, so the sweep may not reach its
    end. A failure to write a page is a warning, never the sweep's error.

    Hydra calls ``*_end`` hooks in reverse order of ``hydra.callbacks``: listed first, this one
    runs after the others (e.g. after ``sweep_summary`` wrote ``sweep_summary.json``).
    """

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """Mark a failed job in its folder and refresh the sweep's page."""
        from hydra.core.utils import JobStatus

        if getattr(job_return, "status", None) != JobStatus.FAILED:
            return
        try:
            from genexp.report.folders import STATUS_FILE, write_status

            hydra_cfg = getattr(job_return, "hydra_cfg", None) or config
            run_dir = Path(OmegaConf.select(hydra_cfg, "hydra.runtime.output_dir"))
            error = getattr(job_return, "_return_value", None)
            if run_dir.is_dir() and not (run_dir / STATUS_FILE).exists() and isinstance(error, BaseException):
                write_status(run_dir, error, None)
        except Exception as err:  # noqa: BLE001 - a report must never hide the job's own error
            log.warning("genexp: could not record the failed job's status: %s", err)
        self._write(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the sweep's page."""
        self._write(config)

    @staticmethod
    def _write(config: DictConfig) -> None:
        sweep_dir = OmegaConf.select(config, "hydra.sweep.dir")
        if not sweep_dir or not Path(sweep_dir).is_dir():
            return
        try:
            from genexp.report import write_sweep_report

            path = write_sweep_report(Path(sweep_dir))
            log.info("genexp: sweep report %s", path)
        except Exception as err:  # noqa: BLE001
            log.warning("genexp: could not write the sweep report in %s: %s", sweep_dir, err)

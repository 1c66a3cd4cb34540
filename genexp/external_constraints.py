"""Constraints for constructors genexp cannot annotate: Lightning's Trainer and callbacks.

Lightning's signatures give the types (and ``precision``'s accepted values as a ``Literal``); what
they leave to run-time checks deep inside Lightning is added here, from Lightning's own registries
where it keeps one (strategy and accelerator names), so that ``trainer.*`` values are checked
before the run starts like every other key. Keys are the targets' qualified names as
:func:`genexp.signature_check.qualified_name` gives them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, Optional, Union

from annotated_types import Ge, Interval
from pydantic import StringConstraints

from genexp.constraints import Described, NonNegativeFloat, NonNegativeInt, PositiveInt, StepLimit

_BatchLimit = Optional[Union[NonNegativeInt, Annotated[float, Interval(ge=0, le=1)]]]
_Devices = Union[
    Annotated[int, Ge(-1)],
    list[NonNegativeInt],
    Annotated[
        str,
        StringConstraints(pattern=r"^\s*(auto|-1|\d+|\d+\s*(,\s*\d+\s*)*,?)\s*$"),
        Described("auto, -1 (all), a number of devices, or device ids such as '0,1'"),
    ],
]


def _names(*groups: Any) -> Any:
    """``Literal`` of the given names (sorted, duplicates dropped)."""
    names = sorted({str(n) for group in groups for n in group})
    return Literal[tuple(names)]


@lru_cache(maxsize=1)
def external_annotations() -> dict[str, dict[str, Any]]:
    """``{qualified target name: {parameter: annotation}}`` overriding the signatures' hints."""
    from lightning.pytorch.accelerators import Accelerator, AcceleratorRegistry
    from lightning.pytorch.strategies import Strategy, StrategyRegistry

    strategies = _names(["auto"], StrategyRegistry.available_strategies())
    accelerators = _names(["auto", "gpu"], AcceleratorRegistry.available_accelerators())
    trainer = {
        "accelerator": Union[accelerators, Accelerator],
        "strategy": Union[strategies, Strategy],
        "devices": _Devices,
        "num_nodes": PositiveInt,
        "max_epochs": Optional[StepLimit],
        "min_epochs": Optional[NonNegativeInt],
        "max_steps": StepLimit,
        "min_steps": Optional[NonNegativeInt],
        "limit_train_batches": _BatchLimit,
        "limit_val_batches": _BatchLimit,
        "limit_test_batches": _BatchLimit,
        "limit_predict_batches": _BatchLimit,
        "overfit_batches": Union[NonNegativeInt, Annotated[float, Interval(ge=0, le=1)]],
        "check_val_every_n_epoch": Optional[PositiveInt],
        "num_sanity_val_steps": Optional[StepLimit],
        "log_every_n_steps": Optional[NonNegativeInt],
        "accumulate_grad_batches": PositiveInt,
        "gradient_clip_val": Optional[NonNegativeFloat],
        "gradient_clip_algorithm": Optional[Literal["norm", "value"]],
        "fast_dev_run": Union[bool, NonNegativeInt],
        "reload_dataloaders_every_n_epochs": NonNegativeInt,
    }
    checkpoint = {
        "every_n_train_steps": Optional[NonNegativeInt],
        "every_n_epochs": Optional[NonNegativeInt],
        "save_top_k": StepLimit,
        "mode": Literal["min", "max"],
    }
    return {
        "lightning.pytorch.trainer.trainer.Trainer": trainer,
        "lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint": checkpoint,
        "lightning.pytorch.callbacks.early_stopping.EarlyStopping": {
            "patience": NonNegativeInt,
            "mode": Literal["min", "max"],
            "min_delta": float,
        },
        "lightning.pytorch.callbacks.progress.tqdm_progress.TQDMProgressBar": {
            "refresh_rate": NonNegativeInt,
        },
    }

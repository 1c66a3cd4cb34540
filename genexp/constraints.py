"""What a config value may be, said once at its constructor: annotated types for the common knobs.

A constructor (model, net, prior, datamodule, callback) annotates its parameters with these types;
the pre-flight check (:mod:`genexp.validation`) reads the annotations with ``typing.get_type_hints``
and checks every config value against them with pydantic before anything is built. The
constraints are ``annotated_types`` markers, which pydantic enforces; :class:`Described` only
gives a constraint that has no readable form (a pattern, a custom check) its wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from annotated_types import Ge, Gt, Interval


@dataclass(frozen=True)
class Described:
    """The wording of a constraint in error messages (``it must be <text>``); pydantic ignores it."""

    text: str


PositiveInt = Annotated[int, Gt(0)]
"""An integer >= 1 (sizes, counts, widths, steps per iteration)."""

NonNegativeInt = Annotated[int, Ge(0)]
"""An integer >= 0 (seeds, optional counts where 0 means none)."""

PositiveFloat = Annotated[float, Gt(0)]
"""A number > 0 (learning rates of genexp's own optimizers, scales, standard deviations)."""

NonNegativeFloat = Annotated[float, Ge(0)]
"""A number >= 0 (loss weights such as beta, penalties, floors)."""

UnitInterval = Annotated[float, Interval(ge=0, le=1)]
"""A number in [0, 1] (probabilities, fractions, EMA decays)."""

StepLimit = Annotated[int, Ge(-1)]
"""An integer >= -1, where -1 means no limit (Lightning's step and epoch limits)."""

__all__ = [
    "Described",
    "NonNegativeFloat",
    "NonNegativeInt",
    "PositiveFloat",
    "PositiveInt",
    "StepLimit",
    "UnitInterval",
]

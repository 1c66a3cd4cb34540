"""AIM-MPCC (thesis §8.2.2, Table 8.5): AIM with MPCC's nets, schedule and EMA, and a fixed N(0, I)
prior (one component)."""

from __future__ import annotations

from typing import Any

from genexp.errors import ConfigError
from genexp.models.aim import AIM


class AIMMPCC(AIM):
    """The Table 8.5 baseline: everything of MPCC (``d_steps`` = ``e_steps`` = 4, hinge loss, batch
    50, shared (S) or separate (NS) encoder, EMA and standing statistics) except the mixture prior:
    p(z) = N(0, I), no L_c, no L_p, and an unconditional generator (no class embedding)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not getattr(self.prior, "is_standard_normal", False):
            raise ConfigError(
                f"aim_mpcc uses the fixed N(0, I) prior (prior=normal), got {type(self.prior).__name__}"
            )

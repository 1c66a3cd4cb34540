"""Veegan (Srivastava et al. 2017; thesis §4.1, spec §A.6): ALI plus a reconstruction term in Z only."""

from __future__ import annotations

from typing import Any

from genexp.constraints import NonNegativeFloat
from genexp.models.ali import ALI


class Veegan(ALI):
    """ALI whose G/encoder step also minimises ``lambda_z`` * (-log q(z | G(z))) per latent
    dimension (:meth:`ALI.likelihood_terms`), the latent reconstruction of G by the encoder (the
    paper's l2 reconstructor loss is this NLL with a fixed unit variance; here the encoder's own
    variance is used, as AIM does)."""

    def __init__(self, *args: Any, lambda_z: NonNegativeFloat = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_z = float(lambda_z)

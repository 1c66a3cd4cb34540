"""ALICE (Li et al. 2017; thesis §4.1, spec §A.6): ALI plus likelihood terms in X and Z."""

from __future__ import annotations

from typing import Any

from genexp.constraints import NonNegativeFloat
from genexp.models.ali import ALI


class ALICE(ALI):
    """ALI whose G/encoder step also minimises ``lambda_x`` * |x - G(z~)|^2 per scalar and
    ``lambda_z`` * (-log q(z | G(z))) per latent dimension (:meth:`ALI.likelihood_terms`): the
    thesis' "maximise the likelihood of the decoder and encoder in the observable and latent space".
    The paper gives neither the norm nor the weights (spec §A.6); the defaults weigh each term like
    one adversarial term."""

    def __init__(
        self, *args: Any, lambda_x: NonNegativeFloat = 1.0, lambda_z: NonNegativeFloat = 1.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lambda_x = float(lambda_x)
        self.lambda_z = float(lambda_z)

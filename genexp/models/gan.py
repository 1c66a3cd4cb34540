"""The plain GAN: the baseline every partitioned/mixture GAN is compared against."""

from __future__ import annotations

from genexp.models.adversarial import AdversarialModule


class GAN(AdversarialModule):
    """Unconditional GAN with non-saturating or hinge loss and optional R1 (all in the base class).

    MLP nets for 2-D and flat data, DCGAN-style conv nets for 28/32/64 px images (``arch: auto``).
    """

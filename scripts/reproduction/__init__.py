"""The reproduction groups of ``scripts/reproduce.py``: one module per group, each defining ``GROUP``.

Adding a group: a module ``<name>.py`` here with its rows, paper numbers and claims in a
:class:`~reproduction.core.Group` called ``GROUP``, its setting paragraph in
``docs/reproduction/<name>.md``, and the module in the tuple below (the order of ``--list``).
"""

from __future__ import annotations

from . import (
    gen_mnist,
    gen_mnist_ext,
    gtn_mnist,
    lc_vade,
    pgmgan_toy,
    scgan_toy,
    thesis_ch6,
    thesis_ch8,
    thesis_ch8_vade,
)
from .core import Group

_MODULES = (
    thesis_ch6,
    lc_vade,
    pgmgan_toy,
    thesis_ch8,
    thesis_ch8_vade,
    scgan_toy,
    gtn_mnist,
    gen_mnist,
    gen_mnist_ext,
)
GROUPS: dict[str, Group] = {module.__name__.rpartition(".")[2]: module.GROUP for module in _MODULES}

__all__ = ["GROUPS"]

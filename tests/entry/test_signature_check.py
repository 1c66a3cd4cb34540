"""The signature-derived checker on toy targets: keys, kwargs-forwarding along the MRO, strict
scalar types, constraints and their wording (no config, no subprocess)."""

from __future__ import annotations

import inspect
from typing import Any, Literal, Optional, Sequence

import pytest
from omegaconf import OmegaConf

from genexp.constraints import NonNegativeFloat, PositiveInt, UnitInterval
from genexp.errors import ConfigError
from genexp.signature_check import accepted, describe, value_problem
from genexp.validation import check_node


class Base:
    """A toy constructor with constrained knobs."""

    def __init__(
        self,
        width: PositiveInt = 8,
        beta: NonNegativeFloat = 1.0,
        mode: Literal["a", "b"] = "a",
        sizes: Sequence[PositiveInt] = (1, 2),
        pair: tuple[int, int] = (0, 1),
        decay: Optional[UnitInterval] = None,
    ) -> None:
        self.width = width


class Forwarding(Base):
    """A subclass that passes ``**kwargs`` on to its base (genexp's convention)."""

    def __init__(self, *args: Any, extra: PositiveInt = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


def open_factory(depth: PositiveInt = 1, **kwargs: Any) -> None:
    """A function whose ``**kwargs`` go somewhere the checker cannot see."""


def test_forwarding_subclass_takes_its_bases_parameters_and_is_closed() -> None:
    acc = accepted(Forwarding)
    assert list(acc.params) == ["extra", "width", "beta", "mode", "sizes", "pair", "decay"]
    assert not acc.open and acc.required() == []
    assert acc.hints["width"] == PositiveInt


def test_a_function_with_kwargs_is_open() -> None:
    acc = accepted(open_factory)
    assert list(acc.params) == ["depth"] and acc.open


def test_third_party_kwargs_stay_open() -> None:
    from lightning.pytorch.loggers import WandbLogger

    acc = accepted(WandbLogger)
    assert acc.open and "project" in acc.params


GOOD = [(PositiveInt, 3), (NonNegativeFloat, 0), (NonNegativeFloat, 2.5), (tuple[int, int], [1, 2])]
GOOD += [(Sequence[PositiveInt], [1, 2]), (Optional[UnitInterval], None), (Literal["a", "b"], "b")]


@pytest.mark.parametrize("ann,value", GOOD, ids=[repr(v) for _, v in GOOD])
def test_values_that_fit(ann: Any, value: Any) -> None:
    assert value_problem(value, ann) is None


BAD = [
    (PositiveInt, 0, "an integer > 0"),
    (PositiveInt, True, "an integer > 0"),  # no bool for an int
    (PositiveInt, "3", "an integer > 0"),  # no string for a number
    (PositiveInt, 2.0, "an integer > 0"),
    (NonNegativeFloat, -0.5, "a number >= 0"),
    (NonNegativeFloat, "abc", "a number >= 0"),
    (Optional[UnitInterval], 1.5, "a number in [0, 1] or null"),
    (Literal["a", "b"], "c", "one of 'a', 'b'"),
    (Sequence[PositiveInt], [1, 0], "a list (each item an integer > 0)"),
    (Sequence[PositiveInt], "12", "a list (each item an integer > 0)"),
    (tuple[int, int], [1, 2, 3], "a list of 2 items (an integer, an integer)"),
]


@pytest.mark.parametrize("ann,value,what", BAD, ids=[f"{v!r}-{w}" for _, v, w in BAD])
def test_values_that_do_not_fit_say_what_they_must_be(ann: Any, value: Any, what: str) -> None:
    assert value_problem(value, ann) == f"it must be {what}"


def test_unannotated_and_any_accept_everything() -> None:
    assert value_problem(object(), inspect.Parameter.empty) is None
    assert value_problem(object(), Any) is None


def test_describe_merges_literals_of_a_union() -> None:
    ann = Optional[Literal[16, 32] | Literal["bf16"]]
    assert describe(ann) == "one of 16, 32, 'bf16' or null"


def _node(target: type | Any, **values: Any) -> Any:
    return OmegaConf.create({"_target_": f"{target.__module__}.{target.__qualname__}", **values})


def test_check_node_names_the_full_key_the_value_and_the_rule() -> None:
    check_node(_node(Forwarding, width=3, extra=2, pair=[4, 5]), "model.net")
    cases = [
        ({"widht": 3}, f"model.net.widht is not a parameter of {__name__}.Forwarding"),
        ({"width": 0}, "model.net.width=0 is invalid: it must be an integer > 0"),
        ({"extra": "x"}, "model.net.extra='x' is invalid: it must be an integer > 0"),
        ({"mode": "c"}, "model.net.mode='c' is invalid: it must be one of 'a', 'b'"),
        ({"decay": 2}, "model.net.decay=2 is invalid: it must be a number in [0, 1] or null"),
    ]
    for values, message in cases:
        with pytest.raises(ConfigError) as err:
            check_node(_node(Forwarding, **values), "model.net")
        assert str(err.value).startswith(message), str(err.value)


def test_check_node_skips_smoke_metadata_and_follows_nested_targets() -> None:
    node = _node(Base, _smoke_=["dataset=digits"])
    check_node(node, "model")
    nested = OmegaConf.create(
        {"_target_": f"{__name__}.open_factory", "depth": 2, "net": _node(Base, width=-1)}
    )
    with pytest.raises(ConfigError, match=r"^model\.net\.width=-1 is invalid"):
        check_node(nested, "model")


def test_torch_optimizer_checks_run_on_a_dummy_parameter() -> None:
    node = OmegaConf.create(
        {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3, "betas": [0.5, 1.5]}
    )
    with pytest.raises(ConfigError) as err:
        check_node(node, "model.optimizer")
    assert str(err.value).startswith(
        "model.optimizer.betas=[0.5, 1.5] is invalid: torch.optim.adam.Adam refuses it"
    )
    bad_lr = OmegaConf.create({"_target_": "torch.optim.SGD", "_partial_": True, "lr": -0.1})
    with pytest.raises(ConfigError, match=r"^model\.optimizer\.lr=-0\.1 is invalid"):
        check_node(bad_lr, "model.optimizer")


def needs(root: str, size: PositiveInt = 1) -> None:
    """A target with a required argument."""


def test_a_missing_required_argument_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^dataset\.root is missing"):
        check_node(OmegaConf.create({"_target_": f"{__name__}.needs", "size": 2}), "dataset")
    check_node(OmegaConf.create({"_target_": f"{__name__}.needs", "_partial_": True}), "dataset")

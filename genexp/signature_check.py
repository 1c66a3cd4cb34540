"""The signature-derived checker: which keys a ``_target_`` accepts and what each value may be.

The source of truth is the target's own signature (``inspect.signature``) and type annotations
(``typing.get_type_hints`` with ``Annotated`` constraints, see :mod:`genexp.constraints`), checked
with pydantic's ``TypeAdapter`` without building anything. A class whose ``__init__`` takes
``**kwargs`` and passes them on to its base (genexp's subclasses do) is followed along its MRO to
the bases that receive them. Constructors genexp cannot annotate (Lightning's Trainer) get their
constraints from :mod:`genexp.external_constraints`.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union, get_args, get_origin

import annotated_types as at
from pydantic import ConfigDict, Strict, TypeAdapter, ValidationError

from genexp.constraints import Described

# ``__init__``s that take ``**kwargs`` but accept no config keys: the MRO walk stops there
_SINK_MODULES = ("builtins", "torch.nn.modules.module", "lightning.pytorch.core", "abc")
_PYDANTIC = ConfigDict(arbitrary_types_allowed=True)


@dataclass
class Accepted:
    """What a target accepts: its keyword parameters with their annotations, and whether it
    takes (and passes on) other keywords that cannot be checked (``open``)."""

    name: str
    params: dict[str, inspect.Parameter] = field(default_factory=dict)
    hints: dict[str, Any] = field(default_factory=dict)
    open: bool = False
    supplied: set[str] = field(default_factory=set)

    def required(self) -> list[str]:
        """Parameters without a default that the caller must give (a subclass may give some of
        its base's itself, ``super().__init__(root_dir=save_dir, **kwargs)``)."""
        return [
            n
            for n, p in self.params.items()
            if p.default is inspect.Parameter.empty and n not in self.supplied
        ]


def qualified_name(obj: Any) -> str:
    """``module.QualName`` of a class or function."""
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations of ``fn`` (each on its own when one cannot be evaluated)."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a forward reference the module only imports for type checkers
        out: dict[str, Any] = {}
        namespace = dict(getattr(fn, "__globals__", {}))
        for name, ann in getattr(fn, "__annotations__", {}).items():
            try:
                out[name] = eval(ann, namespace) if isinstance(ann, str) else ann  # noqa: S307
            except Exception:
                continue
        return out


def _keyword_params(fn: Callable[..., Any]) -> tuple[dict[str, inspect.Parameter], Optional[str]]:
    """Keyword-passable parameters of ``fn`` (without ``self``) and the name of its ``**kwargs``."""
    sig = inspect.signature(fn)
    params, var_kw = {}, None
    for i, (name, p) in enumerate(sig.parameters.items()):
        if p.kind is p.VAR_KEYWORD:
            var_kw = name
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not (i == 0 and name == "self"):
            params[name] = p
    return params, var_kw


def forwards_to_base(init: Callable[..., Any], var_kw: str) -> Optional[str]:
    """The arguments of the ``super().__init__(...)`` call to which ``init`` passes its
    ``**<var_kw>`` (then the base's parameters are what those keywords may be), else ``None``
    (also when the source cannot be read)."""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return None
    for match in re.finditer(r"super\([^)]*\)\s*\.\s*__init__\s*\(", source):
        depth, start = 1, match.end()
        for end in range(start, len(source)):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            if depth == 0:
                if re.search(rf"\*\*\s*{re.escape(var_kw)}\b", source[start:end]):
                    return source[start:end]
                break
    return None


def accepted(target: Any, external: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Accepted:
    """What ``target`` (a class or a function) accepts as keyword arguments."""
    out = Accepted(qualified_name(target))
    if not inspect.isclass(target):
        try:
            out.params, var_kw = _keyword_params(target)
            out.open = var_kw is not None
        except (TypeError, ValueError):  # a builtin without a signature
            out.open = True
            return out
        out.hints = {**_hints(target), **dict((external or {}).get(out.name, {}))}
    else:
        for klass in target.__mro__:
            if "__init__" not in klass.__dict__:
                continue
            if klass.__module__.startswith(_SINK_MODULES):
                break
            init = klass.__dict__["__init__"]
            try:
                params, var_kw = _keyword_params(init)
            except (TypeError, ValueError):
                out.open = True
                break
            hints = {**_hints(init), **dict((external or {}).get(qualified_name(klass), {}))}
            for name, p in params.items():
                if name not in out.params:
                    out.params[name] = p
                    if name in hints:
                        out.hints[name] = hints[name]
            if var_kw is None:
                break
            call = forwards_to_base(init, var_kw)
            if call is None:
                out.open = True  # the keywords go somewhere else (e.g. WandbLogger's to wandb.init)
                break
            out.supplied |= set(re.findall(r"(?<![\w*])(\w+)\s*=(?!=)", call))
    return out


# -- values ---------------------------------------------------------------------------------------
_SCALARS = (bool, int, float, str)


def strictify(ann: Any) -> Any:
    """``ann`` with its scalar leaves strict (no ``"1"`` -> 1, no ``True`` -> 1), containers lax
    (a config's lists stand for tuples and sequences)."""
    if ann in _SCALARS:
        return typing.Annotated[ann, Strict()]
    origin, args = get_origin(ann), get_args(ann)
    if origin is typing.Annotated:
        return typing.Annotated[(strictify(args[0]), *ann.__metadata__)]
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        return Union[tuple(strictify(a) for a in args)]
    if origin is None or origin is Literal or not args or origin in (Callable, type):
        return ann
    try:
        return origin[tuple(a if a is Ellipsis else strictify(a) for a in args)]
    except TypeError:
        return ann


_ADAPTERS: dict[Any, TypeAdapter] = {}


def _adapter(ann: Any) -> TypeAdapter:
    try:
        return _ADAPTERS[ann]
    except (KeyError, TypeError):
        adapter = TypeAdapter(strictify(ann), config=_PYDANTIC)
        try:
            _ADAPTERS[ann] = adapter
        except TypeError:  # an unhashable annotation
            pass
        return adapter


def value_problem(value: Any, ann: Any) -> Optional[str]:
    """``None`` if ``value`` fits annotation ``ann``, else what it must be (``it must be ...``)."""
    if ann is inspect.Parameter.empty or ann is Any:
        return None
    try:
        _adapter(ann).validate_python(value)
    except ValidationError:
        return f"it must be {describe(ann)}"
    except Exception:  # an annotation pydantic cannot build a check for: nothing to say
        return None
    return None


def _constraint_words(meta: Any) -> list[str]:
    lo, hi = getattr(meta, "ge", None), getattr(meta, "le", None)
    if lo is not None and hi is not None:
        return [f"in [{lo}, {hi}]"]
    words = []
    for name, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        bound = getattr(meta, name, None)
        if bound is not None:
            words.append(f"{sym} {bound}")
    if isinstance(meta, at.MinLen):
        words.append(f"with at least {meta.min_length} items")
    if isinstance(meta, at.MaxLen):
        words.append(f"with at most {meta.max_length} items")
    return words


def _one_of(values: Sequence[Any]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


def describe(ann: Any) -> str:
    """Plain-words form of an annotation, e.g. ``an integer > 0`` or ``one of 'a', 'b' or null``."""
    origin, args = get_origin(ann), get_args(ann)
    if origin is typing.Annotated:
        text = [m.text for m in ann.__metadata__ if isinstance(m, Described)]
        if text:
            return text[0]
        words = [w for m in ann.__metadata__ for w in _constraint_words(m)]
        return " ".join([describe(args[0]), *words])
    if origin is Literal:
        return _one_of(args)
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        literals = [v for a in args if get_origin(a) is Literal for v in get_args(a)]
        parts = [_one_of(literals)] if literals else []
        parts += [describe(a) for a in args if get_origin(a) is not Literal and a is not type(None)]
        if type(None) in args:
            parts.append("null")
        return " or ".join(dict.fromkeys(parts))
    if ann is type(None):
        return "null"
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if ann in words:
        return words[ann]
    if origin is tuple and args and args[-1] is not Ellipsis:
        return f"a list of {len(args)} items ({', '.join(describe(a) for a in args)})"
    if origin in (list, tuple, set, Sequence, frozenset) or (
        inspect.isclass(origin) and issubclass(origin, Sequence)
    ):
        return f"a list (each item {describe(args[0])})" if args else "a list"
    if origin in (dict, Mapping) or ann in (dict, Mapping):
        return "a mapping"
    if origin is Callable or ann is Callable:
        return "a _target_ node (something to call)"
    if ann is Any:
        return "any value"
    name = getattr(ann, "__name__", repr(ann))
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"

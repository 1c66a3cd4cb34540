"""A static (AST) scan for device-bound code: what makes a run fail or stall on an accelerator.

It finds, in Python source:

- ``trainer``: a Lightning Trainer constructed in library code (``L.Trainer(``, ``pl.Trainer(``,
  ``Trainer(``): a stage or callback that trains with its own Trainer ignores the run's
  accelerator, precision and strategy (the latent-GTN bug: ``L.Trainer(accelerator="cpu")``);
- ``literal-device``: a device or accelerator given as a string literal (``accelerator="cpu"``,
  ``device="cuda"``, ``torch.device("cpu")``, ``.to("cuda")``) or ``.cuda()``;
- ``host-sync`` in per-step code: ``.item()``, ``.cpu()``, ``.numpy()``, ``.tolist()``,
  ``float/int/bool`` of a tensor expression or a registered buffer, an ``if``/``while`` on
  ``x.any()``/``x.all()``/``torch.*(...)``;
- ``host-tensor`` in per-step code: a torch factory call (``torch.zeros``, ``torch.randn``, ...)
  without ``device=``, i.e. a CPU tensor made in the middle of a GPU step.

The loops of stage training (the bodies of ``for``/``while`` loops in functions named ``fit``,
``fit_*``, ``train_*`` or ``_scan``: a stage's own optimisation loop) are checked for the same
two patterns.

Per-step code is the hooks Lightning calls on every training step (:data:`STEP_HOOKS`; a
callback's hook on its own, see :data:`SHALLOW`) and, by name and transitively, what a model's
hooks reach: ``self.m`` and ``self.<part>.m(...)`` reach every method
``m`` of the scanned files (properties too), ``f(...)`` every module-level function ``f``; the
functions nested in reached code are reached. An over-approximation: the allow-list says why a
finding is safe.

A finding's location is ``<path>:<function>:<pattern>`` (stable under line moves), e.g.
``models/latent_gtn.py:train_autoencoder:trainer``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Union

STEP_HOOKS = frozenset(
    "training_step on_train_batch_start on_train_batch_end on_before_backward on_after_backward "
    "on_before_optimizer_step on_before_zero_grad optimizer_step".split()
)
"""Hooks Lightning calls on every training step (models' and callbacks')."""

SHALLOW = ("callbacks/",)
"""Where a step hook is checked in its own body only: a callback's per-step hook does its own
bookkeeping and starts periodic evaluations (metrics on a schedule), which are not step code."""

STAGE_LOOP = re.compile(r"^(fit|fit_\w+|train_\w+|_scan)$")
"""Functions whose loops are a stage's optimisation steps."""

SYNC_METHODS = frozenset({"item", "cpu", "numpy", "tolist"})
FACTORIES = frozenset("zeros ones full empty eye arange linspace rand randn randint randperm tensor".split())
Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


@dataclass(frozen=True)
class Finding:
    """One match: where (file, function, pattern), the line and the source line."""

    path: str
    function: str
    pattern: str
    line: int
    code: str

    @property
    def location(self) -> str:
        """``<path>:<function>:<pattern>``, the allow-list key."""
        return f"{self.path}:{self.function}:{self.pattern}"


@dataclass
class _Def:
    path: str
    node: Function
    kind: str  # "method", "function" (module level) or "nested"
    nested: list["_Def"]


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _call_name(call: ast.Call) -> str:
    """``torch.<f>`` for ``torch.f(...)``, else the called attribute's or function's name."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id == "torch":
            return f"torch.{func.attr}"
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, without the functions and classes nested in it (scanned on
    their own) but with its lambdas (they run where they are called)."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _collect(path: str, tree: ast.Module) -> list[_Def]:
    """Every function of a module, with its kind and the functions nested in it."""
    out: list[_Def] = []

    def walk(node: ast.AST, kind: str, parent: _Def | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                d = _Def(path, child, kind if parent is None else "nested", [])
                out.append(d)
                if parent is not None:
                    parent.nested.append(d)
                walk(child, "nested", d)
            elif isinstance(child, ast.ClassDef):
                walk(child, "method", None)
            else:
                walk(child, kind, parent)

    walk(tree, "function", None)
    return out


def _reached_names(func: ast.AST) -> tuple[set[str], set[str]]:
    """(methods, functions) ``func`` refers to: ``self.m`` / ``self.<part>.m`` and ``f(...)``."""
    methods, functions = set(), set()
    for node in _own_nodes(func):
        if isinstance(node, ast.Attribute):
            base = node.value
            if _is_self(base) or (isinstance(base, ast.Attribute) and _is_self(base.value)):
                methods.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            functions.add(node.func.id)
    return methods, functions


def _imports(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Local name -> (module path relative to the package root, name there) of the module's
    ``from genexp.<module> import name [as local]`` statements."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("genexp."):
            where = node.module.split(".", 1)[1].replace(".", "/") + ".py"
            for alias in node.names:
                out[alias.asname or alias.name] = (where, alias.name)
    return out


def _per_step(defs: list[_Def], imports: dict[str, dict[str, tuple[str, str]]]) -> list[_Def]:
    """The step hooks and everything they reach (see the module docstring). A call ``f(...)``
    reaches the module-level ``f`` of its own file, else the one it imports, else (re-exports)
    every module-level ``f``."""
    methods: dict[str, list[_Def]] = {}
    functions: dict[tuple[str, str], _Def] = {}
    by_function_name: dict[str, list[_Def]] = {}
    for d in defs:
        if d.kind == "method":
            methods.setdefault(d.node.name, []).append(d)
        elif d.kind == "function":
            functions[(d.path, d.node.name)] = d
            by_function_name.setdefault(d.node.name, []).append(d)

    def resolve(path: str, name: str) -> list[_Def]:
        if (path, name) in functions:
            return [functions[(path, name)]]
        if name in imports[path]:
            target = imports[path][name]
            return [functions[target]] if target in functions else by_function_name.get(target[1], [])
        return []

    todo = [d for name in STEP_HOOKS for d in methods.get(name, [])]
    reached: dict[int, _Def] = {}
    while todo:
        d = todo.pop()
        if id(d) in reached:
            continue
        reached[id(d)] = d
        todo.extend(d.nested)
        if d.path.startswith(SHALLOW) and d.node.name in STEP_HOOKS:
            continue
        m_names, f_names = _reached_names(d.node)
        todo.extend(x for n in m_names for x in methods.get(n, []))
        todo.extend(x for n in f_names for x in resolve(d.path, n))
    return list(reached.values())


def _tensor_test(test: ast.AST) -> bool:
    """A condition that reads a tensor on the host: ``x.any()``, ``x.all()`` or a ``torch.*``
    call, possibly negated or inside a comparison or ``and``/``or``."""
    if isinstance(test, ast.UnaryOp):
        return _tensor_test(test.operand)
    if isinstance(test, ast.BoolOp):
        return any(_tensor_test(v) for v in test.values)
    if isinstance(test, ast.Compare):
        return any(_tensor_test(v) for v in (test.left, *test.comparators))
    if isinstance(test, ast.Call):
        name = _call_name(test)
        return name in ("any", "all") or (name.startswith("torch.") and name != "torch.is_tensor")
    return False


def _buffers(tree: ast.AST) -> set[str]:
    """Names registered with ``register_buffer("name", ...)`` (tensors on the module's device)."""
    return {
        call.args[0].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and _call_name(call) == "register_buffer"
        and call.args
        and _is_str(call.args[0])
    }


def _is_conversion_of_tensor(call: ast.Call, buffers: set[str]) -> bool:
    """``float/int/bool(x)`` with ``x`` a buffer (``self.<buffer>``) or a tensor expression (a
    ``torch.*`` call or a method call, e.g. ``loss.isfinite().all()``)."""
    if not (isinstance(call.func, ast.Name) and call.func.id in ("float", "int", "bool") and call.args):
        return False
    arg = call.args[0]
    if isinstance(arg, ast.Attribute) and _is_self(arg.value):
        return arg.attr in buffers
    return isinstance(arg, ast.Call) and (
        _call_name(arg).startswith("torch.")
        or (isinstance(arg.func, ast.Attribute) and _call_name(arg) not in ("get", "pop", "index"))
    )


def _literal_device(call: ast.Call) -> bool:
    name = _call_name(call)
    if any(kw.arg in ("accelerator", "device") and _is_str(kw.value) for kw in call.keywords):
        return True
    if name == "torch.device" and call.args and _is_str(call.args[0]):
        return True
    if name == "cuda" and isinstance(call.func, ast.Attribute):
        return True
    return name == "to" and bool(call.args) and _is_str(call.args[0])


Add = Callable[[str, str, str, ast.AST], None]


def _check_everywhere(scope: ast.AST, path: str, name: str, add: Add) -> None:
    """A Trainer, or a literal device/accelerator, in ``scope``'s own code."""
    for node in _own_nodes(scope):
        if not isinstance(node, ast.Call):
            continue
        if _call_name(node) == "Trainer":
            add(path, name, "trainer", node)
        if _literal_device(node):
            add(path, name, "literal-device", node)


def _loop_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of :func:`_own_nodes` that are inside a ``for``/``while`` body."""
    for node in _own_nodes(func):
        if isinstance(node, (ast.For, ast.While)):
            for stmt in node.body:
                yield stmt
                yield from _own_nodes(stmt)


def _check_per_step(func: Function, path: str, buffers: set[str], add: Add, loops_only: bool = False) -> None:
    """Host syncs and host-made tensors in per-step code (``loops_only``: in its loops)."""
    for node in _loop_nodes(func) if loops_only else _own_nodes(func):
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)) and _tensor_test(node.test):
            add(path, func.name, "host-sync", node)
        if not isinstance(node, ast.Call):
            continue
        called = _call_name(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr in SYNC_METHODS and not node.args:
            add(path, func.name, "host-sync", node)
        elif _is_conversion_of_tensor(node, buffers):
            add(path, func.name, "host-sync", node)
        elif called.startswith("torch.") and called[6:] in FACTORIES:
            if not any(kw.arg == "device" for kw in node.keywords):
                add(path, func.name, "host-tensor", node)


def scan_sources(sources: dict[str, str]) -> list[Finding]:
    """Findings in ``sources`` (relative path -> source text), in file and line order."""
    parsed = {path: ast.parse(text) for path, text in sources.items()}
    lines = {path: text.splitlines() for path, text in sources.items()}
    findings: list[Finding] = []

    def add(path: str, function: str, pattern: str, node: ast.AST) -> None:
        findings.append(Finding(path, function, pattern, node.lineno, lines[path][node.lineno - 1].strip()))

    defs = [d for path, tree in parsed.items() for d in _collect(path, tree)]
    buffers = set().union(*(_buffers(tree) for tree in parsed.values()))
    for path, tree in parsed.items():
        _check_everywhere(tree, path, "<module>", add)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                _check_everywhere(node, path, "<module>", add)
    for d in defs:
        _check_everywhere(d.node, d.path, d.node.name, add)
    imports = {path: _imports(tree) for path, tree in parsed.items()}
    per_step = _per_step(defs, imports)
    for d in per_step:
        _check_per_step(d.node, d.path, buffers, add)
    stepped = {id(d) for d in per_step}
    for d in defs:
        if STAGE_LOOP.match(d.node.name) and id(d) not in stepped:
            _check_per_step(d.node, d.path, buffers, add, loops_only=True)
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.pattern))


def scan_package(root: Path, subpackages: Iterable[str]) -> list[Finding]:
    """Findings in every ``*.py`` under ``root/<subpackage>`` (paths relative to ``root``)."""
    sources = {}
    for sub in subpackages:
        for file in sorted((root / sub).rglob("*.py")):
            sources[file.relative_to(root).as_posix()] = file.read_text()
    return scan_sources(sources)

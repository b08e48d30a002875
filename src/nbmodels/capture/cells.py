"""What a cell binds, reads and fits, from its source alone (the AST), and which names it changed.
"""

from __future__ import annotations

import ast
import types

from dataclasses import dataclass
from typing import Any, Iterable

FIT_METHODS = frozenset({"fit", "fit_transform", "partial_fit", "fit_predict", "train"})


@dataclass(frozen=True)
class CellNames:
    """Names a cell binds at its top level, loads anywhere, and fits in place."""

    bound: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    fitted: frozenset[str] = frozenset()
    read_first: frozenset[str] = frozenset()  # read before the cell binds them: its inputs


class _TopLevelScope(ast.NodeVisitor):
    """Collects bindings and `.fit` receivers of the cell's own scope.

    Function, class and lambda bodies are separate scopes and are not entered; a
    comprehension's loop variables are its own, but a walrus inside it binds in the cell.
    """

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.fitted: set[str] = set()

    def _bind_target(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value)
        else:  # `a.b = ...`, `a[i] = ...` mutate an object, they bind no name
            self.visit(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # `x: int` alone declares, it binds nothing
            self._bind_target(node.target)
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind_target(node.target)
        self.visit(node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._bind_target(node.target)
        for child in (node.iter, *node.body, *node.orelse):
            self.visit(child)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars)
        self.visit(node.context_expr)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.bound.add(node.target.id)
        self.visit(node.value)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bound.add(node.rest)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in FIT_METHODS
            and isinstance(func.value, ast.Name)
        ):
            self.fitted.add(func.value.id)
        self.generic_visit(node)

    def _visit_comprehension(self, node: ast.AST) -> None:
        # Loop targets are local to the comprehension; only walrus/fit inside matter.
        for generator in node.generators:
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for field in ("elt", "key", "value"):
            child = getattr(node, field, None)
            if child is not None:
                self.visit(child)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def _skip_scope(self, node: ast.AST) -> None:
        pass

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _skip_scope
    visit_Import = visit_ImportFrom = _skip_scope


def cell_names(source: str) -> CellNames:
    """Return the names `source` binds, reads and fits; empty sets if it does not parse.

    `source` is Python as IPython runs it (magics already transformed). `read` is every
    name loaded anywhere in the cell, for lineage; `fitted` holds `X` for `X.fit(...)` and
    the other in-place training calls, since a model fitted in place counts as bound.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return CellNames()
    scope = _TopLevelScope()
    read: set[str] = set()
    read_first: set[str] = set()
    for statement in tree.body:  # statement order: `X = X.drop(...)` reads the old X first
        loaded = _loaded_names(statement)
        read_first |= loaded - scope.bound
        read |= loaded
        scope.visit(statement)
    return CellNames(frozenset(scope.bound), frozenset(read), frozenset(scope.fitted),
                     frozenset(read_first))


def _loaded_names(tree: ast.AST) -> set[str]:
    loaded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loaded.add(node.target.id)
    return loaded


def snapshot(namespace: dict, names: Iterable[str]) -> dict[str, object]:
    """Return `{name: namespace[name]}` for the `names` present: references, not copies.

    Costs one lookup per name, whatever the size of the namespace.
    """
    return {name: namespace[name] for name in names if name in namespace}


def changed_names(
    before: dict, namespace: dict, bound: Iterable[str], fitted: Iterable[str] = ()
) -> list[str]:
    """Return, sorted, the `bound` names the cell rebound and the `fitted` names still present.

    A name counts as rebound when it is new or now refers to a different object (`is`, not
    `==`: equal values rebound to the same object are unchanged). Private names (`_x`) and
    modules (`xgb` in `xgb.train(...)` is a module, not a model) are left out.
    """
    fitted = set(fitted)
    result = []
    for name in set(bound) | fitted:
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            continue
        if name in fitted or name not in before or before[name] is not value:
            result.append(name)
    return sorted(result)



def cell_inputs(names: CellNames, before: dict, ignored: Iterable[str] = ()) -> dict[str, Any]:
    """Return `{name: value}` of the data the cell read that existed before it ran.

    `before` is the `snapshot` taken before the cell; a name the cell binds before reading
    it is not an input.
    """
    from .data import is_data

    ignored = set(ignored)
    return {name: before[name] for name in names.read_first - ignored
            if name in before and is_data(before[name])}

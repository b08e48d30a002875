"""The walk behind `cell_names`: a cell's statements in execution order, with Python's scopes.
"""

from __future__ import annotations

import ast
import json

from typing import Any, NamedTuple

FIT_METHODS = frozenset({"fit", "fit_transform", "partial_fit", "fit_predict", "train"})


# A value computed from a clock is a timer reading, never a hyperparameter.
CLOCK_CALLS = frozenset({
    "time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns",
    "process_time", "process_time_ns", "thread_time", "default_timer", "now", "utcnow", "today",
})


# Values returned by these (plt.axis(), ax.get_xlim(), plt.subplots()) describe a plot.
PLOT_CALLS = frozenset({
    "axis", "xlim", "ylim", "zlim", "get_xlim", "get_ylim", "get_zlim", "set_xlim", "set_ylim",
    "xticks", "yticks", "get_xticks", "get_yticks", "subplots", "subplot", "figure", "gca", "gcf",
    "twinx", "twiny", "get_size_inches", "get_legend_handles_labels", "colorbar",
})
PLOT_MODULES = frozenset({"plt", "pyplot", "sns", "mpl", "matplotlib", "px", "go"})


# A chain longer than this (`a.b.c.d.e`) is code navigation, not a data container.
MAX_PATH_STEPS = 4


class ReadPath(NamedTuple):
    """A constant attribute/subscript chain off a name read from before the cell.

    `steps` are `("attr", name)` or `("item", key)`; `labels[i]` is the chain up to and
    including step `i` as it reads (`iris["data"]`).
    """

    root: str
    steps: tuple[tuple[str, Any], ...]
    labels: tuple[str, ...]


class _Scope:
    """A function, lambda, class or comprehension scope: the names local to it."""

    __slots__ = ("kind", "names")

    def __init__(self, kind: str, names: set[str]) -> None:
        self.kind, self.names = kind, names


class CellWalker(ast.NodeVisitor):
    """Visits a cell's statements in execution order (see cells.py's docstring)."""

    def __init__(self) -> None:
        self.bound: set[str] = set()  # recorded: names the cell binds at top level
        self.flow: set[str] = set()  # bound so far, also by def/class/import
        self.read: set[str] = set()
        self.read_first: set[str] = set()
        self.fitted: set[str] = set()
        self.always: set[str] = set()
        self.computed: set[str] = set()
        self.timers: set[str] = set()
        self.loops = 0  # statements inside a for or while loop
        self.paths: dict[str, ReadPath] = {}
        self.scopes: list[_Scope] = []
        self.depth = 0  # statements inside a branch, loop or try

    # ---- names ---------------------------------------------------------------------

    def _is_local(self, name: str) -> bool:
        # Class bodies are not visible from the functions inside them.
        innermost = True
        for scope in reversed(self.scopes):
            if (scope.kind != "class" or innermost) and name in scope.names:
                return True
            innermost = False
        return False

    def _load(self, name: str) -> None:
        self.read.add(name)
        if not self._is_local(name) and name not in self.flow:
            self.read_first.add(name)

    def _bind(self, name: str, record: bool = True) -> None:
        # Names of function and class scopes are known beforehand (`_local_names`); a walrus
        # in a comprehension binds in the enclosing scope: the cell's, outside functions.
        if all(scope.kind == "comprehension" for scope in self.scopes):
            self._bind_cell(name, record)

    def _bind_cell(self, name: str, record: bool) -> None:
        self.flow.add(name)
        if record:
            self.bound.add(name)
            if self.depth == 0:
                self.always.add(name)

    def _bind_target(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value)
        else:  # `a.b = ...`, `a[i] = ...` mutate an object: they read `a`, bind no name
            self.visit(target)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)

    # ---- statements ----------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._bind_target(target)
        self._note_computed(node.targets, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # `x: int` alone declares, it binds nothing
            self.visit(node.value)
            self._bind_target(node.target)
            self._note_computed([node.target], node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._load(node.target.id)
        self.visit(node.value)
        self._bind_target(node.target)
        self._note_computed([node.target], node.value, augmented=True)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.depth += 1
        self.loops += 1
        self._bind_target(node.target)
        if not self.scopes:
            self.computed.update(_target_names(node.target))
        for child in (*node.body, *node.orelse):
            self.visit(child)
        self.loops -= 1
        self.depth -= 1

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        self.loops += 1
        self._visit_conditional(node)
        self.loops -= 1

    def _visit_conditional(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_If = visit_Try = visit_Match = _visit_conditional
    visit_TryStar = _visit_conditional

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for child in node.body:
            self.visit(child)

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        for child in (*node.keys, *node.patterns):
            self.visit(child)
        if node.rest:
            self._bind(node.rest)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._bind((alias.asname or alias.name).split(".")[0], record=False)

    visit_ImportFrom = visit_Import

    # ---- scopes --------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in (*node.decorator_list, *node.args.defaults,
                      *[d for d in node.args.kw_defaults if d is not None]):
            self.visit(child)
        self._bind(node.name, record=False)  # functions are not recorded as variables
        self._visit_function(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for child in (*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]):
            self.visit(child)
        self._visit_function(node.args, [node.body])

    def _visit_function(self, args: ast.arguments, body: list[ast.AST]) -> None:
        names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.scopes.append(_Scope("function", names | _local_names(body)))
        for child in body:
            self.visit(child)
        self.scopes.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(child)
        self._bind(node.name, record=False)
        self.scopes.append(_Scope("class", _local_names(node.body)))
        for child in node.body:
            self.visit(child)
        self.scopes.pop()

    def _visit_comprehension(self, node: ast.AST) -> None:
        generators = node.generators
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        targets = set()
        for generator in generators:
            targets |= _target_names(generator.target)
        self.scopes.append(_Scope("comprehension", targets))
        for i, generator in enumerate(generators):
            if i:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for field in ("elt", "key", "value"):
            child = getattr(node, field, None)
            if child is not None:
                self.visit(child)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target.id)

    # ---- expressions ---------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in FIT_METHODS
                and isinstance(func.value, ast.Name) and not self.scopes):
            self.fitted.add(func.value.id)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._visit_chain(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _constant_key(node.slice) is _NOT_CONSTANT:
            self.visit(node.value)
            self.visit(node.slice)
        else:
            self._visit_chain(node)

    def _visit_chain(self, node: ast.Attribute | ast.Subscript) -> None:
        steps: list[tuple[str, Any]] = []
        current: ast.AST = node
        while True:
            if isinstance(current, ast.Attribute):
                steps.append(("attr", current.attr))
            elif isinstance(current, ast.Subscript) and (
                    key := _constant_key(current.slice)) is not _NOT_CONSTANT:
                steps.append(("item", key))
            else:
                break
            current = current.value
        if not isinstance(current, ast.Name):
            self.visit(current)
            return
        root = current.id
        self._load(root)
        loaded = isinstance(node.ctx, ast.Load)
        if not self._is_local(root) and root not in self.flow:  # read from before the cell
            steps.reverse()
            steps = steps if loaded else steps[:-1]  # `a.b[0] = 1` reads `a.b`
            if steps:
                self._add_path(root, steps[:MAX_PATH_STEPS])

    def _add_path(self, root: str, steps: list[tuple[str, Any]]) -> None:
        labels, label = [], root
        for kind, key in steps:
            label += f".{key}" if kind == "attr" else f"[{_key_text(key)}]"
            labels.append(label)
        if label not in self.paths:
            self.paths[label] = ReadPath(root, tuple(steps), tuple(labels))

    # ---- computed values -----------------------------------------------------------

    def _note_computed(self, targets: list[ast.AST], value: ast.AST, augmented: bool = False) -> None:
        if self.scopes or (isinstance(value, ast.Constant) and not (augmented and self.loops)):
            return  # a constant reads no clock and no timer
        names = set().union(*(_target_names(target) for target in targets))
        if _reads_clock_or_plot(value) or (self.timers and _names_in(value) & self.timers):
            self.timers |= names  # `elapsed = time.time() - t0` is a timer reading too
            self.computed |= names
        elif augmented and self.loops:  # `step += 1` in a loop counts, it sets nothing
            self.computed |= names


_NOT_CONSTANT = object()


def _constant_key(node: ast.AST) -> Any:
    """The value of a constant subscript (`"data"`, `0`, `-1`, `("a", 1)`), else _NOT_CONSTANT."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, bytes)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    if isinstance(node, ast.Tuple):
        keys = tuple(_constant_key(element) for element in node.elts)
        return _NOT_CONSTANT if any(k is _NOT_CONSTANT for k in keys) else keys
    return _NOT_CONSTANT


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    if isinstance(key, tuple):
        return ", ".join(_key_text(k) for k in key)
    return repr(key)


def _target_names(target: ast.AST) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _reads_clock_or_plot(node: ast.AST) -> bool:
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in CLOCK_CALLS or name in PLOT_CALLS:
            return True
        while isinstance(func, ast.Attribute):
            func = func.value
        if isinstance(func, ast.Name) and func.id in PLOT_MODULES:
            return True
    return False


def _local_names(body: list[ast.AST]) -> set[str]:
    """Names a function or class body binds (its locals), minus `global`/`nonlocal` ones;
    nested function and class bodies are their own scopes."""
    names: set[str] = set()
    declared: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(getattr(node, "decorator_list", []))
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared

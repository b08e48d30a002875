"""What a cell binds, reads and fits, from its source alone (the AST), and what it changed.

The cell is walked in execution order, with Python's scopes (walker.py): a name the cell
binds before it reads it (`for X in folds:` then `X` in the body) is not read from before
the cell, a function's parameters and locals are not globals, a comprehension's loop
variables are its own. Attribute and constant-subscript chains off names read from
before the cell (`digits.data`, `iris["data"]`) are kept, so that data read through them
is an input.
"""

from __future__ import annotations

import ast
import functools
import re
import types

from dataclasses import dataclass
from typing import Any, Iterable

from .changes import ChangeWalker
from .walker import FIT_METHODS, ReadPath

__all__ = ["FIT_METHODS", "CellNames", "ReadPath", "Snapshot", "cell_inputs", "cell_names",
           "changed_names", "snapshot"]


@dataclass(frozen=True)
class CellNames:
    """What a cell's source binds, reads and fits.

    - `bound`: names the cell binds at its top level (also in loops, branches, `with`);
    - `read`: every name loaded anywhere in the cell (function bodies too), for lineage;
    - `fitted`: `X` of `X.fit(...)` and the other in-place training calls;
    - `read_first`: names read from before the cell (not bound by it earlier, not a
      function's own parameter or local): its possible inputs;
    - `read_paths`: attribute/subscript chains off `read_first` names (`digits.data`);
    - `always`: names bound by statements that run whenever the cell completes (not in a
      branch, loop or `try`);
    - `computed`: loop variables, counters incremented in a loop (`step += 1`), and values
      read from a clock or a plot (`t0 = time.time()`, `lim = plt.axis()`): never params;
    - for lineage (`changes.ChangeWalker`): `flow`, every name bound at the top level (by
      `def`, `class` and `import` too); `mutated`, names whose objects the top level changes
      in place; `imported`, names bound by imports; `deleted`, names it `del`etes.
    """

    bound: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    fitted: frozenset[str] = frozenset()
    read_first: frozenset[str] = frozenset()
    read_paths: tuple[ReadPath, ...] = ()
    always: frozenset[str] = frozenset()
    computed: frozenset[str] = frozenset()
    flow: frozenset[str] = frozenset()
    mutated: frozenset[str] = frozenset()
    imported: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=256)
def cell_names(source: str) -> CellNames:
    """Return the names `source` binds, reads and fits; empty sets if it does not parse.

    `source` is Python as IPython runs it (magics already transformed); a source with
    IPython syntax (`%time`, `!ls`) is read with those lines left out. Results are cached
    by source: the tracking core and the registry may both ask.
    """
    tree = _parse(source)
    if tree is None:
        return CellNames()
    walker = ChangeWalker()
    for statement in tree.body:
        walker.visit(statement)
    return CellNames(
        bound=frozenset(walker.bound), read=frozenset(walker.read),
        fitted=frozenset(walker.fitted), read_first=frozenset(walker.read_first),
        read_paths=tuple(walker.paths.values()), always=frozenset(walker.always),
        computed=frozenset(walker.computed), flow=frozenset(walker.flow),
        mutated=frozenset(walker.mutated), imported=frozenset(walker.imported),
        deleted=frozenset(walker.deleted),
    )


_IPYTHON_LINE = re.compile(r"^(\s*)(?:[%!].*|\w+\s*=\s*[%!].*)$")


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        pass
    # An untransformed IPython cell: line magics and shell escapes bind nothing we record.
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return None  # another cell magic decides what the body is
    cleaned = "\n".join(_IPYTHON_LINE.sub(r"\1pass", line) for line in lines)
    try:
        return ast.parse(cleaned)
    except (SyntaxError, ValueError):
        return None



class Snapshot(dict):
    """`{name: value}` before the cell (references, not copies), and `states`: the learned
    state of the models among them (`models.training_state`), to see in-place training."""

    __slots__ = ("states",)

    def __init__(self, values: dict, states: dict) -> None:
        super().__init__(values)
        self.states = states


def snapshot(namespace: dict, names: Iterable[str]) -> Snapshot:
    """Return the `names` present in `namespace`, and the training state of the models.

    Costs one lookup per name, plus a few per parameter tensor of a network the cell reads
    (not its values), whatever the size of the namespace.
    """
    from .models import training_state

    values = {name: namespace[name] for name in names if name in namespace}
    states = {}
    for name, value in values.items():
        state = training_state(value)
        if state is not None:
            states[name] = state
    return Snapshot(values, states)


def changed_names(before: dict, namespace: dict, bound: Iterable[str], fitted: Iterable[str] = (),
                  always: Iterable[str] | None = None) -> list[str]:
    """Return, sorted, the names whose values the run records as variables.

    A name the cell binds, when it is new or now refers to a different object, or its value
    is a plain value (`num_round = 20` re-run binds the very same cached int: identity is
    no sign of change for those); names in `always` (`CellNames.always`: pass it when the
    cell completed) whatever their object; `fitted` names; and names the cell read whose
    model it trained in place (an optimizer loop, `p -= lr * p.grad`), seen from the
    `snapshot` states. Private names (`_x`) and modules are left out.
    """
    from .models import same_training_state, training_state
    from .values import is_param_value

    fitted, bound = set(fitted), set(bound)
    always = set(always or ())
    states = getattr(before, "states", {})
    result = []
    for name in bound | fitted | set(states):
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        if issubclass(type(value), types.ModuleType):  # not isinstance: `__class__` may raise
            continue
        if name in fitted or name in always:
            result.append(name)
        elif name in bound and (name not in before or before[name] is not value
                                or is_param_value(value)):
            result.append(name)
        elif name in states and not same_training_state(states[name], training_state(value)):
            result.append(name)
    return sorted(result)


def cell_inputs(names: CellNames, before: dict, ignored: Iterable[str] = ()) -> dict[str, Any]:
    """Return `{label: value}` of the data the cell read that existed before it ran.

    `before` is the `snapshot` taken before the cell. Names read before the cell binds
    them, whose value is data; and the first data along each attribute/constant-subscript
    chain off such a name that is not data itself (`digits.data`, `iris["data"]`, labelled
    as written), never through a module, class, function or model. Reading a chain runs
    the attribute lookups the cell itself runs; one that raises is skipped.
    """
    from .data import is_data

    ignored = set(ignored)
    inputs = {name: before[name] for name in sorted(names.read_first - ignored)
              if name in before and is_data(before[name])}
    for path in names.read_paths:
        if path.root in ignored or path.root in inputs or path.root not in before:
            continue
        value = before[path.root]
        for (kind, key), label in zip(path.steps, path.labels):
            if not _may_hold_data(value) or label in ignored:
                break
            try:
                value = getattr(value, key) if kind == "attr" else value[key]
            except Exception:  # noqa: BLE001  the cell will meet the same error, or not
                break
            if is_data(value):
                inputs.setdefault(label, value)
                break
    return inputs


def _may_hold_data(value: Any) -> bool:
    """A container data may be read from: not a module, class, function or model."""
    from .models import is_model

    if issubclass(type(value), (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                                types.MethodType, str, bytes, int, float, bool, type(None))):
        return False
    return not is_model(value)

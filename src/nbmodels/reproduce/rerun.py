"""Re-running a recorded run in a scratch namespace and comparing the result with it.

Which cells run:

- `scratch`: every cell of the run's lineage in execution order, the tracked cell last.
- `inputs`: the tracked cell on the run's stored inputs. The other names it reads
  (imports, helper functions, scalars, data whose content was not stored) come from the
  lineage cells that bind them, transitively (`needed_cells`); a cell is run only when it
  binds such a name, so the cells that made only stored inputs are not run, and in those
  that run, a top-level statement that only assigns stored inputs (`df =
  pd.read_csv(...)` beside the imports) is left out: their files are not read. The stored inputs are put in the namespace before those cells (when
  they read one) and again after them, so the tracked cell reads the stored values.

The tracked cell itself runs under the tracking core (`CellTracker`), as when it was
recorded: what it binds, reads (with the data fingerprints taken before it runs) and logs
are found the same way.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from typing import Any, Callable

from .. import capture, tracking
from ..errors import ReproduceError
from ..records import Lineage, LineageCell, Run
from . import compare
from .report import KINDS, ReproduceReport
from .scratch import python_source, run_cell, scratch_context, scratch_namespace

MODES = ("inputs", "scratch")


@dataclass
class Recorded:
    """What the registry hands a reproduction: plain values, and loaders that deserialize
    (trust-checked by the registry) only when called.

    `models`: `{variable: (object_hash, serializer)}` to compare; `inputs`: labels of the
    stored inputs that `load_inputs()` returns (a new copy on each call); `load_model(var)`
    the stored model; `lineage` None when none was recorded; `folder` where the cells run
    (the notebook's folder), None for the current directory; `progress(done, total)` is
    told each step done (each cell run, then the comparison)."""

    run: Run
    models: dict[str, tuple[str, str]]
    inputs: tuple[str, ...]
    load_inputs: Callable[[], dict[str, Any]]
    load_model: Callable[[str], Any]
    lineage: Lineage | None = None
    folder: str | None = None
    progress: Callable[[int, int], None] | None = None


def reproduce(recorded: Recorded, mode: str = "inputs") -> ReproduceReport:
    """Re-run `recorded` (see the module docstring) and compare what it made with it."""
    started = time.perf_counter()
    run = recorded.run
    earlier = _earlier_cells(recorded, mode)
    tracked = python_source(run.source)
    namespace, shell = scratch_namespace()
    steps = len(earlier) + 2  # the cells, the tracked cell, the comparison
    done = recorded.progress if recorded.progress is not None else (lambda _d, _t: None)
    with scratch_context(recorded.folder):
        _run_earlier(recorded, mode, earlier, namespace, lambda n: done(n, steps))
        record = _run_tracked(recorded, mode, tracked, namespace)
        done(steps - 1, steps)
    differences, models = _compare(recorded, mode, record, namespace, tracked,
                                   [c.source for c in earlier])
    done(steps, steps)
    return ReproduceReport(
        run_id=run.id, mode=mode, status=_status(models, differences),
        differences=tuple(differences), models=models,
        cells=tuple(_label(c) for c in earlier) + ("the tracked cell",),
        skipped=tuple(shell.skipped), duration_s=round(time.perf_counter() - started, 6),
        cell_s=round((record.ended_at - record.started_at).total_seconds(), 6),
        recorded_s=run.duration_s)


def _earlier_cells(recorded: Recorded, mode: str) -> list[LineageCell]:
    """The lineage cells to run before the tracked cell, in execution order."""
    cells = list(recorded.lineage.cells[:-1]) if recorded.lineage else []
    if mode == "scratch":
        if recorded.lineage is None:
            raise ReproduceError(
                f"cannot reproduce run {recorded.run.id} from scratch: it has no recorded "
                "lineage (its cells ran before `%load_ext nbmodels`, or an older nbmodels "
                "tracked it); reproduce it --from-inputs")
        return cells
    return needed_cells(cells, capture.cell_names(python_source(recorded.run.source)).read,
                        set(recorded.inputs))


def needed_cells(cells: list[LineageCell], reads: frozenset[str] | set[str],
                 stored: set[str]) -> list[LineageCell]:
    """The cells among `cells` (execution order) that bind, transitively, what `reads`
    needs and `stored` does not hold, in execution order.

    A name a cell reads comes from the newest cell binding it before that cell, or, read
    inside a function (which reads its globals when called: from the tracked cell), the
    newest before the tracked cell: both are taken, as notes do not say which."""
    last = len(cells)
    chosen: set[int] = set()
    todo = [(name, last) for name in set(reads) - stored]
    seen: set[tuple[str, int]] = set()
    while todo:
        name, before = todo.pop()
        if (name, before) in seen:
            continue
        seen.add((name, before))
        for index in {_producer(cells, name, before), _producer(cells, name, last)}:
            if index is not None and index not in chosen:
                chosen.add(index)
                todo += [(read, index) for read in set(cells[index].reads) - stored]
    return [cells[i] for i in sorted(chosen)]


def _producer(cells: list[LineageCell], name: str, before: int) -> int | None:
    """The index of the newest cell before `before` that binds `name`."""
    return next((i for i in range(before - 1, -1, -1) if name in cells[i].binds), None)


def _run_earlier(recorded: Recorded, mode: str, cells: list[LineageCell],
                 namespace: dict, ran: Callable[[int], None]) -> None:
    if mode == "inputs" and any(set(c.reads) & set(recorded.inputs) for c in cells):
        namespace.update(recorded.load_inputs())
    hint = ("it is neither a stored input nor bound by a cell of the run's lineage"
            if mode == "inputs" else
            "no cell of the run's lineage binds it (was it defined before `%load_ext "
            "nbmodels`?)")
    if cells:
        # `log_param`/`log_metric` in these cells go to a tracker of their own, not to
        # the last run of this process
        sink = tracking.CellTracker("", namespace, cwd=recorded.folder)
        sink.before()
        try:
            for count, cell in enumerate(cells, 1):
                python = python_source(cell.source)
                if mode == "inputs":
                    python = without_assignments(python, set(recorded.inputs))
                run_cell(python, namespace, _label(cell), mode=mode, name_hint=hint)
                ran(count)
        finally:
            sink.abandon()
    if mode == "inputs":
        namespace.update(recorded.load_inputs())  # the stored values, whatever cells rebound


def without_assignments(python: str, names: set[str]) -> str | ast.Module:
    """`python` without its top-level assignments that bind only `names` (unchanged when
    it does not parse: running it says why)."""
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return python
    kept = [s for s in tree.body if not (_assigned(s) and _assigned(s) <= names)]
    return python if len(kept) == len(tree.body) else ast.Module(kept, type_ignores=[])


def _assigned(statement: ast.stmt) -> set[str]:
    """The names an assignment statement binds (empty for anything else, or for targets
    other than names: `df["a"] = ...` changes a value, it binds nothing)."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
        targets = [statement.target]
    else:
        return set()
    names: set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif not isinstance(node, (ast.Tuple, ast.List, ast.Starred, ast.expr_context)):
                return set()
    return names


def _run_tracked(recorded: Recorded, mode: str, python: str, namespace: dict
                 ) -> tracking.CellRecord:
    """Run the tracked cell under the tracking core; its record."""
    if mode == "inputs":
        hint = ("it is not a stored input, and the run has no recorded lineage to make it "
                "from" if recorded.lineage is None else
                "it is neither a stored input nor bound by a cell of the run's lineage")
    else:
        hint = "no cell of the run's lineage binds it"
    tracker = tracking.CellTracker(python, namespace, raw_source=recorded.run.source,
                                   cwd=recorded.folder)
    tracker.before()
    try:
        run_cell(python, namespace, "the tracked cell", mode=mode, name_hint=hint)
    except BaseException:
        tracker.abandon()
        raise
    return tracker.after()


def _compare(recorded: Recorded, mode: str, record: tracking.CellRecord, namespace: dict,
             python: str, sources: list[str]) -> tuple[list, dict[str, str]]:
    run = recorded.run
    loaded: dict[str, dict] = {}

    def inputs() -> dict:  # the stored inputs, loaded once and only if predictions are needed
        if "values" not in loaded:
            stored = recorded.load_inputs()
            made = {label: value for label, value in record.inputs.items()
                    if label not in stored and _same_data(run, label, record)}
            loaded["values"] = {**stored, **made}
        return loaded["values"]

    differences, models = [], {}
    for name, (digest, serializer) in recorded.models.items():
        status, found = compare.compare_model(
            name, namespace.get(name), digest, serializer,
            lambda name=name: recorded.load_model(name), inputs)
        models[name] = status
        differences += found
    differences += compare.compare_metrics(run.metrics, record, namespace)
    differences += compare.compare_params(run.params, record, python)
    differences += compare.compare_data({i.name: i.fingerprint for i in run.inputs},
                                        record.input_summaries)
    differences += compare.compare_packages(run.packages)
    if _status(models, differences) == "differs":
        for name in models:
            differences += compare.unseeded(name, namespace.get(name), [*sources, python])
    differences.sort(key=lambda d: KINDS.index(d.kind))
    return differences, models


def _same_data(run: Run, label: str, record: tracking.CellRecord) -> bool:
    """Whether the re-run read the input `label` with the recorded content (an input whose
    content was not stored predicts as well, then)."""
    summary = record.input_summaries.get(label)
    recorded = next((i for i in run.inputs if i.name == label), None)
    return summary is not None and recorded is not None and \
        summary.fingerprint == recorded.fingerprint


def _status(models: dict[str, str], differences: list) -> str:
    """`differs` when a model or a metric differs; else `exact` when every model is."""
    if any(s == "differs" for s in models.values()) or any(
            d.kind in ("model", "predictions", "metrics") for d in differences):
        return "differs"
    return "exact" if all(s == "exact" for s in models.values()) else "equivalent"


def _label(cell: LineageCell) -> str:
    return f"cell [{cell.execution_count}]" if cell.execution_count is not None else "a cell"

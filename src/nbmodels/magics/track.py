"""`%%track`: the cell runs as IPython runs any cell, and `nbmodels.tracking` records it.

A cell that starts with `%%track LINE` is rewritten by an input transformer (before
IPython's own cell-magic transform) into the same cell with its first line replaced by a
call that starts tracking:

    __nbmodels_track__(7)
    <the cell's own lines, unchanged>

(tracebacks show that line as the `%%track LINE` typed), so IPython itself runs the code:
top-level `await`, a trailing `;`, the displayhook (`Out[n]`) and tracebacks (`Cell In[n],
line k`, line numbers as in the cell) are those of the untracked cell. The record is made
by the `post_execute` event of that same cell. `shell.run_cell_magic("track", LINE, CELL)`
(scripts made by nbconvert, other magics) runs the cell itself through
`tracking.track_cell`.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import os
import re
import sys
import warnings
from dataclasses import dataclass

from IPython.core.error import UsageError
from IPython.core.inputtransformer2 import cell_magic as ipython_cell_magic
from IPython.core.magic import cell_magic, magics_class, output_can_be_silenced
from IPython.core.magic_arguments import argument, magic_arguments

from .. import api, render, tracking
from ..progress import Bar
from ..errors import NbModelsError, NbModelsWarning
from ..versioning import check_tags, check_text
from .base import RegistryMagics
from .parsing import one_line, parse, parse_tags, split_names

# Cell magics that run their body as Python in the kernel's namespace, once: `%%track`
# above one of them tracks that body. Others (%%timeit, %%bash, %%html ...) cannot be.
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "prun"})

_TRACK_LINE = re.compile(r"%%track(?=\s|$)")
CELL_MAGIC = re.compile(r"%%(\w+)")  # a cell magic line, its name in group 1
_KEEP_PENDING = 64  # transformed cells not yet run (transforms may run without execution)
# What line 1 of a transformed cell calls: `begin_tracked_cell`, a builtin while IPython
# runs a cell (as its `get_ipython` is), so no namespace of the user's holds it. A line of
# four tokens is also less for IPython to tokenize and compile on every tracked cell.
BEGIN_NAME = "__nbmodels_track__"


@dataclass
class _PendingCell:
    surface: TrackMagics
    line: str  # the %%track arguments
    body: str  # the cell below the %%track line, as typed
    inner_magic: str | None  # `time` for a body that starts with %%time


_pending: dict[int, _PendingCell] = {}
_tokens = itertools.count(1)
_surface: TrackMagics | None = None  # the loaded extension's %%track
# (record, whole_cell) -> its Lineage or None: set by magics/lineage.py; whole_cell is
# False when the tracked code is not the running cell itself (run_cell_magic)
lineage_provider = None


def transform_track_cell(lines: list[str]) -> list[str]:
    """IPython input transformer: a `%%track` cell -> its code, tracking started by line 1."""
    if not lines or _surface is None or not _TRACK_LINE.match(lines[0]):
        return lines
    token = next(_tokens)
    line, body = lines[0][len("%%track"):].strip(), lines[1:]
    inner = CELL_MAGIC.match(body[0]) if body else None
    _pending[token] = _PendingCell(_surface, line, "".join(body), inner and inner.group(1))
    while len(_pending) > _KEEP_PENDING:
        del _pending[next(iter(_pending))]
    first = f"{BEGIN_NAME}({token})\n"
    return [first, *(ipython_cell_magic(body) if inner else body)]


transform_track_cell.has_side_effects = True  # IPython's check_complete must not call it


def begin_tracked_cell(token: int) -> None:
    """Line 1 of a `%%track` cell as IPython runs it: parse the line, start tracking."""
    __tracebackhide__ = True  # noqa: F841
    pending = _pending.pop(token, None)
    if pending is None:
        raise UsageError("%%track: this compiled cell cannot run again (%%timeit, exec of "
                         "In[n]): run the %%track cell itself")
    pending.surface.begin(pending, sys._getframe(1))


def _compiled_body(frame, pending: _PendingCell) -> str | None:
    """The cell's Python below line 1, as IPython compiled it (None when that is not known:
    a body under %%time, code compiled by another magic). Line 1 is shown in tracebacks as
    the `%%track` line the user typed rather than the call it became."""
    filename = frame.f_code.co_filename
    entry = linecache.cache.get(filename)
    if not entry or entry[1] is not None or not entry[2] or \
            not entry[2][0].startswith(f"{BEGIN_NAME}("):
        return None
    lines = entry[2]
    shown = f"%%track {pending.line}".rstrip() + "\n"
    linecache.cache[filename] = (entry[0], None, [shown, *lines[1:]], entry[3])
    return None if pending.inner_magic else "".join(lines[1:])


@dataclass
class _Running:
    tracker: tracking.CellTracker
    registry: object
    result: object  # IPython's ExecutionResult of the cell, to know its own post_execute


def _options(args) -> tracking.TrackOptions:
    """The `%%track` flags, checked as the registry will check them when the run is
    recorded: text it cannot store is one line now, before the cell runs."""
    tags = parse_tags(args.tag)
    try:
        check_text(args.experiment, "experiment")
        check_text(args.note, "note")
        check_tags(tags)
    except NbModelsError as exc:
        raise UsageError(one_line(f"%%track: {exc}")) from None
    return tracking.TrackOptions(
        experiment=args.experiment, note=args.note, tags=tags,
        params=split_names(args.params), metrics=split_names(args.metrics),
        ignore=frozenset(split_names(args.ignore)))


_KEEP_PARSED = 64  # distinct %%track lines whose options are kept
_parsed_lines: dict[str, tracking.TrackOptions] = {}


def _options_of(line: str) -> tracking.TrackOptions:
    """The options of a `%%track` line (`$` and `{}` already expanded), parsed once: a cell
    run again would parse the same line again (argparse, ~30 µs of every tracked cell)."""
    options = _parsed_lines.get(line)
    if options is None:
        options = _options(parse(TrackMagics.track, line, "%%track"))
        if len(_parsed_lines) >= _KEEP_PARSED:
            _parsed_lines.clear()
        _parsed_lines[line] = options
    return options


@magics_class
class TrackMagics(RegistryMagics):

    _running: _Running | None = None

    @magic_arguments()
    @argument("experiment", nargs="?", help="Experiment name (default: the notebook's file stem).")
    @argument("--note", help="A note kept with the run.")
    @argument("--tag", action="append", metavar="KEY=VALUE", help="A tag; repeat for several.")
    @argument("--params", metavar="A,B", help="Names to record as params whatever their type.")
    @argument("--metrics", metavar="A,B", help="Names to record as metrics.")
    @argument("--ignore", metavar="A,B", help="Names to leave out of the run.")
    @output_can_be_silenced
    @cell_magic
    def track(self, line, cell):
        """Run the cell as usual, then record it as a run: code, params, data, metrics, model.

        Example::

            %%track breast-cancer --note "baseline" --tag team=risk
            clf = LogisticRegression(C=1.0, max_iter=500).fit(X_train, y_train)
            accuracy = clf.score(X_test, y_test)
        """
        __tracebackhide__ = True  # noqa: F841
        # Reached only when called directly (a script, another magic): a %%track cell of a
        # notebook is run by IPython through `transform_track_cell`.
        options = _options_of(line)
        code = self.shell.transform_cell(cell)
        source = self._analysed_source(cell, code)
        registry = self.registry  # resolve the home before the cell can chdir
        return tracking.track_cell(
            source, self.shell.user_ns, lambda: self._run(code, cell),
            lambda record: self._store(registry, record), options, raw_source=cell,
            cwd=os.getcwd(), home=registry.home)

    def begin(self, pending: _PendingCell, frame) -> None:
        """Start tracking a transformed `%%track` cell whose line 1 is running in `frame`."""
        __tracebackhide__ = True  # noqa: F841
        line = pending.line
        if "$" in line or "{" in line:  # as IPython expands any magic's line
            line = self.shell.var_expand(line, 2)  # 2: the cell's frame
        options = _options_of(line)
        source = self._analysed_source(pending.body, _compiled_body(frame, pending))
        if self._running is not None:  # a cell whose end never came (interrupted runner)
            self._running.tracker.abandon()
            self._running = None
        registry = self.registry
        tracker = tracking.CellTracker(source, self.shell.user_ns, options,
                                       raw_source=pending.body, cwd=os.getcwd(),
                                       home=registry.home)
        try:
            tracker.before()
        except Exception as exc:  # a bug in nbmodels must not stop the user's cell
            warnings.warn(f"nbmodels cannot track this cell, it runs untracked: "
                          f"{type(exc).__name__}: {exc}", NbModelsWarning, stacklevel=2)
            return
        self._running = _Running(tracker, registry, self.shell.displayhook.exec_result)

    def finish(self) -> None:
        """`post_execute`: record the tracked cell that just ended (not a cell it ran)."""
        running = self._running
        if running is None:
            return
        result = self.shell.last_execution_result
        if running.result is not None and result is not running.result:
            return  # a cell run inside the tracked one (%%capture, run_cell) ended
        self._running = None
        error = getattr(result, "error_in_exec", None) if running.result is not None else None
        try:
            record = running.tracker.after(error)
        except Exception as exc:
            running.tracker.abandon()
            warnings.warn(f"nbmodels could not record this run: {type(exc).__name__}: {exc}",
                          NbModelsWarning, stacklevel=2)
            return
        self._store(running.registry, record, whole_cell=True)

    def _analysed_source(self, body: str, python: str | None) -> str:
        """The Python whose names the tracker reads: the cell's, or for `%%time` (and the
        other `PYTHON_CELL_MAGICS`) the body that magic runs."""
        if not body.strip():
            raise UsageError("%%track needs code below it: the cell is empty")
        first, _, rest = body.partition("\n")
        inner = CELL_MAGIC.match(first)
        if inner is None:
            return python if python is not None else self.shell.transform_cell(body)
        if inner.group(1) not in PYTHON_CELL_MAGICS:
            under = ", ".join(f"%%{name}" for name in sorted(PYTHON_CELL_MAGICS))
            raise UsageError(f"%%track cannot track a cell run by %%{inner.group(1)}: only "
                             f"Python cells, or cells under {under}")
        return self.shell.transform_cell(rest)

    def _run(self, code: str, cell: str):
        """Execute like a plain cell: statements, then the value of a last expression."""
        __tracebackhide__ = True  # noqa: F841
        shell = self.shell
        tree = shell.transform_ast(shell.compile.ast_parse(code))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
        exec(shell.compile(tree, filename, "exec"), shell.user_global_ns, shell.user_ns)
        if last is None:
            return None
        return eval(shell.compile(ast.Expression(last.value), filename, "eval"),
                    shell.user_global_ns, shell.user_ns)

    def _store(self, registry, record: tracking.CellRecord, whole_cell: bool = False) -> None:
        max_bytes = int(self.options.max_object_mb * 2**20)
        if lineage_provider is not None:
            record.lineage = lineage_provider(record, whole_cell)
        try:
            with Bar("saving the run's models") as bar:  # shown for a large or slow model
                recorded = registry.record(record, max_object_bytes=max_bytes,
                                           store_inputs=self.options.store_inputs, progress=bar)
        except Exception as exc:  # the user's cell must not fail because recording did
            warnings.warn(f"nbmodels could not record this run: {type(exc).__name__}: {exc}",
                          NbModelsWarning, stacklevel=2)
            return
        api.session.last_run_id = recorded.id
        api.session.just_tracked = {name: (record.values[name], digest)
                                    for name, digest in recorded.models.items()
                                    if name in record.values}
        api.session.cells_since_track = 0
        if self.options.show_summary:
            render.display_run_summary(recorded.run)


def install(shell, surface: TrackMagics) -> None:
    """Hook `%%track` cells and the `%register` byte reuse into `shell` (once per shell)."""
    global _surface
    _surface = surface
    shell.builtin_trap.auto_builtins[BEGIN_NAME] = begin_tracked_cell
    cleanup = shell.input_transformers_cleanup
    if transform_track_cell not in cleanup:
        cleanup.append(transform_track_cell)  # after IPython's own, before its %% transform
    for event, callback in (("pre_execute", _on_pre_execute), ("pre_run_cell", _on_pre_run_cell),
                            ("post_execute", _on_post_execute)):
        if callback not in shell.events.callbacks[event]:
            shell.events.register(event, callback)


def _on_pre_execute() -> None:
    api.session.cells_since_track += 1
    api.session.lone_register = False


_LONE_REGISTER = re.compile(r"%register\b[^\n]*")


def _on_pre_run_cell(info) -> None:
    api.session.lone_register = bool(_LONE_REGISTER.fullmatch((info.raw_cell or "").strip()))


def _on_post_execute() -> None:
    if _surface is not None:
        _surface.finish()

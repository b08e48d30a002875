"""`%lineage REF`, `%autotrack on|off`, and the hooks behind them.

- Every cell the kernel runs (not silent ones) is queued at `post_execute` into the kernel's
  `nbmodels.lineage.CellNotes`, which works out what it bound and read from its AST in a
  background thread. The AST is the one IPython parsed to run the cell (`CellTrees`): the
  cell is not parsed a second time.
- A tracked run asks for its lineage (`track.lineage_provider`) before it is recorded: the
  running cell is noted then, and the slice with its flags goes into the run's record.
- Autotrack is an input transformer placed before `%%track`'s: a cell that fits a model
  (`lineage.fits_model`) gets a `%%track` first line, so it is tracked by the very same
  code, with the same record and summary, as a cell the user marked.
"""

from __future__ import annotations

import ast
import warnings

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .. import api, render
from ..errors import NbModelsWarning
from ..lineage import CellNotes, fits_model, lineage_of, notebook_cells
from . import track
from .base import RegistryMagics, user_errors
from .parsing import parse

# IPython's own names: never reads of a cell (their producer is the shell)
_SHELL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh",
                          "_", "__", "___", "_i", "_ii", "_iii", track.BEGIN_NAME})
_SENTINEL = "__nbmodels_notes__"  # gone from the namespace after %reset: notes restart


@magics_class
class LineageMagics(RegistryMagics):
    """`%lineage`, `%autotrack`, and the cell notes of this kernel."""

    def __init__(self, shell, config):
        super().__init__(shell, config)
        self.notes = CellNotes(ignored=_SHELL_NAMES | set(shell.user_ns_hidden))
        self._noted_result = None  # the ExecutionResult noted last

    @magic_arguments()
    @argument("ref", nargs="?", metavar="REF",
              help="A run id (or 6+ of its characters) or NAME@VERSION. Default: the last "
                   "tracked run.")
    @line_magic
    @user_errors
    def lineage(self, line):
        """Show the cells, in execution order, that produced what a run read, with flags
        for cells run out of order, inputs rebound since, cells edited since and names
        whose producing cell is unknown.

        Example::

            %lineage breast-cancer@1.0.0
        """
        args = parse(LineageMagics.lineage, line)
        ref = args.ref or api.session.last_run_id
        if ref is None:
            raise UsageError("%lineage needs a REF: no run was tracked in this kernel yet")
        render.display_lineage(self.registry.lineage(ref))

    @magic_arguments()
    @argument("state", nargs="?", choices=("on", "off"), help="on or off (default: show it).")
    @line_magic
    @user_errors
    def autotrack(self, line):
        """Track every cell that fits a model as if it began with `%%track`.

        Example::

            %autotrack on
        """
        args = parse(LineageMagics.autotrack, line)
        if args.state is not None:
            self.options.autotrack = args.state == "on"
        state = "on" if self.options.autotrack else "off"
        print(f"autotrack is {state}: cells that call .fit(...), .fit_transform(...), "
              ".partial_fit(...), .fit_predict(...) or .train(...) "
              + ("are tracked as %%track cells" if self.options.autotrack else "run untracked"))

    # ---- cell notes --------------------------------------------------------------------

    def note_current(self, later: bool = False, names=None):
        """Note the cell that ran last, once (`later`: queued, analysed in the background;
        `names`: the tracking core's `CellNames` of it, so that it is not parsed again).
        Its note, or None if it was noted already, was silent, never ran (a syntax error)
        or is queued."""
        result = self.shell.last_execution_result
        if result is None or result is self._noted_result:
            return None
        self._noted_result = result
        info = getattr(result, "info", None)
        if info is None or info.silent or result.error_before_exec is not None \
                or not (info.raw_cell or "").strip():
            return None
        namespace = self.shell.user_ns
        if namespace.get(_SENTINEL) is not self.notes:  # a new or reset namespace
            self.notes.clear()
            namespace[_SENTINEL] = self.notes
            self.shell.user_ns_hidden[_SENTINEL] = self.notes
        cell = (info.raw_cell, result.execution_count, getattr(info, "transformed_cell", None),
                getattr(info, "cell_id", None))
        if later:
            self.notes.note_later(*cell, tree=cell_trees.tree_of(info))
            return None
        return self.notes.note(*cell, names=names)

    def lineage_for(self, record, whole_cell: bool):
        """The lineage of a tracked cell about to be recorded (None when it cannot be
        made: the run is recorded without it, the cell is unaffected)."""
        try:
            note = self.note_current(names=record.names) if whole_cell else None
            if note is None:  # run_cell_magic("track", ...): the tracked code itself
                note = self.notes.note(record.source, self.shell.execution_count,
                                       names=record.names)
            return lineage_of(self.notes, note, self.shell.user_ns,
                              notebook_cells(record.notebook_file))
        except Exception as exc:  # noqa: BLE001  a bug here must not lose the run
            warnings.warn(f"nbmodels could not make this run's lineage: "
                          f"{type(exc).__name__}: {exc}", NbModelsWarning, stacklevel=2)
            return None


def transform_autotrack(lines: list[str]) -> list[str]:
    """IPython input transformer: with autotrack on, a cell that fits a model -> the same
    cell under a `%%track` line (which `track.transform_track_cell` then handles)."""
    surface = _surface
    if surface is None or not surface.options.autotrack or not lines:
        return lines
    magic = track.CELL_MAGIC.match(lines[0])
    if magic and magic.group(1) not in track.PYTHON_CELL_MAGICS:
        return lines  # %%track already, or a cell another magic runs
    body = lines[1:] if magic else lines
    if not fits_model("".join(body)):
        return lines
    if not lines[-1].endswith("\n"):
        lines = [*lines[:-1], lines[-1] + "\n"]
    return ["%%track\n", *lines]


transform_autotrack.has_side_effects = True  # check_complete must not call it

class CellTrees:
    """Keeps the tree IPython parsed for the cell being run: what its compiler's
    `ast_parse` returns for the cell's transformed source after its `pre_run_cell`.
    Parsing the cell again for its note would cost the kernel ~0.5 ms per 50 lines, and
    parsing it in the notes' thread can break either parse (see `nbmodels.lineage.notes`).
    A cell run inside another (a non-silent `run_cell`) takes the place of the outer one,
    whose note then parses."""

    def __init__(self) -> None:
        self._expected = self._source = self._info = self._tree = None

    def start(self, info) -> None:
        self._expected, self._info, self._tree = info, None, None
        self._source = getattr(info, "transformed_cell", None)  # what IPython will parse

    def wrap(self, ast_parse):
        def parse(source, *args, **kwargs):
            tree = ast_parse(source, *args, **kwargs)
            if self._expected is not None and source == self._source:
                self._info, self._tree, self._expected = self._expected, tree, None
            return tree

        parse.nbmodels_cell_trees = True
        return parse

    def tree_of(self, info) -> ast.Module | None:
        """The tree of the cell `info` describes, if it was kept."""
        tree = self._tree
        return tree if info is self._info and isinstance(tree, ast.Module) else None


cell_trees = CellTrees()
_surface: LineageMagics | None = None


def load(shell, config) -> LineageMagics:
    """Register `%lineage` and `%autotrack`; note every cell, give tracked runs their
    lineage, and autotrack (hooks installed once per shell)."""
    global _surface
    surface = _surface = LineageMagics(shell, config)
    shell.register_magics(surface)
    track.lineage_provider = surface.lineage_for
    cleanup = shell.input_transformers_cleanup
    if transform_autotrack not in cleanup:
        at = cleanup.index(track.transform_track_cell) if track.transform_track_cell in \
            cleanup else len(cleanup)
        cleanup.insert(at, transform_autotrack)
    if _on_post_execute not in shell.events.callbacks["post_execute"]:
        shell.events.register("post_execute", _on_post_execute)
    if cell_trees.start not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", cell_trees.start)
    compiler = shell.compile
    if not getattr(compiler.ast_parse, "nbmodels_cell_trees", False):
        compiler.ast_parse = cell_trees.wrap(compiler.ast_parse)
    return surface


def _on_post_execute() -> None:
    if _surface is not None:
        try:
            _surface.note_current(later=True)
        except Exception as exc:  # noqa: BLE001  the notes are a side show of the cell
            warnings.warn(f"nbmodels could not note this cell: {type(exc).__name__}: {exc}",
                          NbModelsWarning, stacklevel=2)

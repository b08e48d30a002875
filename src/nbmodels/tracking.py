"""The one tracking core: what a cell bound, read and trained, recorded around its execution.

    tracker = CellTracker(source, namespace, TrackOptions(experiment="exp1"))
    tracker.before()          # names, inputs and their statistics, notebook, git, start time
    ...the cell runs...       # `tracker.logged` collects log_param / log_metric values
    record = tracker.after(error)   # what changed -> the CellRecord `Registry.record_run` stores

`track_cell(source, namespace, run, on_record)` does the three around a callable. The
`%%track` magic, autotrack and lineage are surfaces over this module; it imports no IPython
and no registry: it takes plain values (a namespace dict, the cell as Python source) and
returns a plain record.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any, Callable

from . import capture
from .capture.cells import CellNames
from .capture.environment import cached_git_info
from .records import Lineage


@dataclass
class CellRecord:
    """What a tracked cell produced, as `Registry.record_run` stores it."""

    source: str
    experiment: str
    status: str
    started_at: datetime
    ended_at: datetime
    values: dict[str, Any]  # names the cell bound or fitted, with their objects
    inputs: dict[str, Any] = field(default_factory=dict)  # data read, existing before
    input_summaries: dict[str, Any] = field(default_factory=dict)  # taken before the cell ran
    note: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    param_names: tuple[str, ...] = ()
    metric_names: tuple[str, ...] = ()
    logged_params: dict[str, Any] = field(default_factory=dict)
    logged_metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notebook: str | None = None
    git: dict | None = None
    # the producing cells and flags (`nbmodels.lineage`), set by the surface that noted
    # the cells; its run_id is ignored (the run's is used)
    lineage: Lineage | None = None
    names: CellNames | None = None  # the walk of the cell's Python (lineage reuses it)
    notebook_file: str | None = None  # the notebook's absolute path (lineage reads it)


@dataclass(frozen=True)
class TrackOptions:
    """What the user said about a tracked cell (`%%track` flags)."""

    experiment: str | None = None  # default: the notebook's file stem, else "default"
    note: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()  # names recorded as params whatever their type
    metrics: tuple[str, ...] = ()  # names recorded as metrics
    ignore: frozenset[str] = frozenset()  # names left out of the run


class CellTracker:
    """Tracks one execution of one cell: `before()`, run the cell, `after(error)`.

    `source` is the cell as Python (IPython syntax already transformed); `raw_source` what
    the user wrote, stored as the run's code (default: `source`). `cwd` is the kernel's
    working directory when the cell starts (for the notebook path and git); `home` the
    registry folder, so the notebook path is stored relative to it.
    """

    def __init__(self, source: str, namespace: dict, options: TrackOptions | None = None, *,
                 raw_source: str | None = None, cwd: str | os.PathLike | None = None,
                 home: str | os.PathLike | None = None):
        self.source = source
        self.raw_source = source if raw_source is None else raw_source
        self.namespace = namespace
        self.options = options or TrackOptions()
        self.cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
        self.home = home
        self.logged: dict[str, dict] = {"params": {}, "metrics": {}}
        self.values: dict[str, Any] = {}  # after(): what the record captured, by name

    def before(self) -> None:
        """Note what the cell will read and bind, before any of it runs. From here until
        `after`, this is `current_tracker()` (`log_param`/`log_metric` write to it)."""
        names = self.names = capture.cell_names(self.source)
        self.snapshot = capture.snapshot(self.namespace, names.bound | names.read | names.fitted)
        self.inputs = capture.cell_inputs(names, self.snapshot, self.options.ignore)
        # Statistics now: the cell may change its inputs in place.
        self.summaries = {n: capture.summarize_data(v) for n, v in self.inputs.items()}
        self.notebook = capture.notebook_path(self.namespace, self.cwd)
        folder = os.path.dirname(self.notebook) if self.notebook else self.cwd
        fresh, git = cached_git_info(folder)  # a few stat calls
        # When git must run, it runs while the cell does.
        self._git = git if fresh else _in_background(capture.git_info, folder)
        self.started_at = datetime.now(UTC)
        _active.append(self)

    def abandon(self) -> None:
        """Stop being the current tracker without a record (the cell's end was lost)."""
        if self in _active:
            _active.remove(self)

    def after(self, error: BaseException | None = None) -> CellRecord:
        """The record of the cell that just ran (or failed with `error`)."""
        ended_at = datetime.now(UTC)
        self.abandon()
        names = self.names
        # A completed cell ran every top-level binding: those names are recorded even when
        # they hold the same object as before (`best = models["rf"]` run twice).
        always = names.always if error is None else ()
        changed = capture.changed_names(self.snapshot, self.namespace, names.bound, names.fitted,
                                        always=always)
        self.values = {n: self.namespace[n] for n in changed if n not in self.options.ignore}
        options = self.options
        return CellRecord(
            source=self.raw_source,
            experiment=options.experiment or capture.experiment_name(self.notebook),
            status="failed" if error is not None else "ok", started_at=self.started_at,
            ended_at=ended_at, values=self.values, inputs=self.inputs,
            input_summaries=self.summaries, note=options.note, tags=dict(options.tags),
            param_names=options.params, metric_names=options.metrics,
            logged_params=self.logged["params"], logged_metrics=self.logged["metrics"],
            error=f"{type(error).__name__}: {error}" if error is not None else None,
            notebook=_relative(self.notebook, self.home), names=names,
            notebook_file=self.notebook,
            git=self._git.result() if isinstance(self._git, Future) else self._git)


_active: list[CellTracker] = []  # trackers between before() and after(), innermost last


def current_tracker() -> CellTracker | None:
    """The tracker of the cell running now, if it is tracked."""
    return _active[-1] if _active else None


def track_cell(source: str, namespace: dict, run: Callable[[], Any],
               on_record: Callable[[CellRecord], None], options: TrackOptions | None = None,
               **context) -> Any:
    """Run `run()` tracked and return its value; `on_record` gets the record whether the
    cell succeeded or raised, and an exception then propagates unchanged. `context` is
    passed to `CellTracker` (`raw_source`, `cwd`, `home`)."""
    tracker = CellTracker(source, namespace, options, **context)
    tracker.before()
    try:
        value = run()
    except BaseException as error:
        on_record(tracker.after(error))
        raise
    on_record(tracker.after())
    return value


def _relative(notebook: str | None, home: str | os.PathLike | None) -> str | None:
    """The notebook path relative to the registry's parent folder: a registry stores no
    absolute paths (it can be moved, zipped, shared)."""
    if not notebook:
        return None
    if home is None:
        return os.path.basename(notebook)
    try:
        return os.path.relpath(notebook, os.path.dirname(os.fspath(home)))
    except ValueError:  # another drive on Windows
        return os.path.basename(notebook)


_executor: ThreadPoolExecutor | None = None


def _in_background(function: Callable, *args) -> Future:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbmodels")
    return _executor.submit(function, *args)

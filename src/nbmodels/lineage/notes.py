"""Cell notes: what each executed cell bound and read, from its AST, kept in bounded memory.

Every cell the kernel runs becomes a `CellNote` (execution count, source, names bound and
read). A note keeps, for each name it read, the note that produced that name when it ran
(`deps`), so the lineage of a later run is a walk over these links. Nothing is hashed or
serialized; nothing is stored until a run asks for its lineage.

Noting costs the cell a queue append: the walk of its AST runs in a background thread, in
execution order, and anything that reads the notes (`note`, `get`, `producer`, `len`) first
finishes what is queued, so a lineage always sees every cell before it. The worker never
parses: on CPython 3.11 an `ast.parse` in one thread while another thread parses (IPython,
the next cell) can fail either one with `SystemError: AST constructor recursion depth
mismatch` (CPython gh-106905). A cell comes with the tree IPython parsed to run it, or is
parsed by the thread that queues it (the kernel's, between two cells).

Memory stays bounded two ways:
- a note lives only while something points at it: it is the latest producer of a name, or
  a live note read from it. A cell whose names were all rebound since, and which no kept
  cell read from, is dropped with its source (reference counts, not a scan);
- at most `max_notes` notes (default 10,000) are kept: past that, the oldest is dropped even
  if referenced, and a lineage that reaches it says so (`unknown_producer`).
"""

from __future__ import annotations

import ast
import builtins
import itertools
import threading
from collections import deque
from dataclasses import dataclass, field

from ..capture.cells import CellNames, _parse
from ..capture.changes import ChangeWalker

MAX_NOTES = 10_000

@dataclass(eq=False)
class CellNote:
    """One executed cell. `binds`: names it binds at its top level (also by `import`, `def`,
    `class`, and objects it changes in place: `df["x"] = ...`, `df.drop(..., inplace=True)`,
    `model.fit(...)`); `reads`: names it reads from before it ran (the globals its
    functions' bodies use included), builtins left out; `deps`: for each read name, the
    `seq` of the note that produced it when this cell ran (None: no noted producer)."""

    seq: int  # execution order in this session
    execution_count: int | None
    source: str  # as the user wrote it
    binds: frozenset[str]
    reads: frozenset[str]
    deps: dict[str, int | None] = field(default_factory=dict)
    python: str | None = None  # the Python IPython ran, when it differs from `source`
    cell_id: str | None = None  # the notebook cell's id, when the frontend sends it
    position: int = 0  # seq of this cell's (or source's) first run: its place, guessed


class _LineageWalker(ChangeWalker):
    """`ChangeWalker` without what only tracking needs (values computed from clocks, data
    read paths): those are most of the walk's cost, and every untracked cell is walked."""

    def _note_computed(self, *args, **kwargs) -> None:
        pass

    def _add_path(self, *args) -> None:
        pass


def names_of(source: str, modules: frozenset[str] | set[str] = frozenset()
             ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """`(binds, reads, imported)` of a cell's Python source, as `CellNote` defines them
    (builtins not yet removed). `modules`: names known to hold modules, whose method calls
    (`xgb.train(...)`) change no object of the notebook. A source that does not parse
    binds and reads nothing."""
    return names_in(_parse(source), modules)


def names_in(tree: ast.Module | None, modules: frozenset[str] | set[str] = frozenset()
             ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """`names_of` a parsed cell (None: one that does not parse)."""
    if tree is None:
        return frozenset(), frozenset(), frozenset()
    walker = _LineageWalker()
    for statement in tree.body:
        walker.visit(statement)
    return _binds_reads(walker.flow, walker.mutated, walker.deleted, walker.imported,
                        walker.read_first, modules)


def names_from(names: CellNames, modules: frozenset[str] | set[str] = frozenset()
               ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """`names_of` from the tracking core's walk of the same cell (no second parse)."""
    return _binds_reads(names.flow, names.mutated, names.deleted, names.imported,
                        names.read_first, modules)


def _binds_reads(flow, mutated, deleted, imported, read_first, modules):
    changed = set(mutated) - set(imported) - (set(modules) - set(flow))
    return (frozenset(set(flow) | changed | set(deleted)), frozenset(read_first),
            frozenset(imported))


class CellNotes:
    """The notes of one kernel session. `note()` each cell after it ran; `get(seq)` a kept
    note; `producer(name)` the latest note that bound a name. `ignored` names are never
    reads (IPython's own: `In`, `Out`, `get_ipython` ...)."""

    def __init__(self, max_notes: int = MAX_NOTES, ignored: frozenset[str] = frozenset()):
        self.max_notes = max_notes
        self.ignored = frozenset(ignored)
        self._lock = threading.RLock()  # one writer at a time: the worker or a reader
        self._pending: deque[tuple] = deque()  # cells noted later, in execution order
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self.failures = 0  # cells whose analysis raised (noted as binding nothing)
        self.clear()

    def note_later(self, source: str, execution_count: int | None = None,
                   python: str | None = None, cell_id: str | None = None,
                   tree: ast.Module | None = None) -> None:
        """Queue a cell that just ran (as `note` takes it): walked in the background.
        `tree`: the AST of `python` IPython ran, when known; else the cell is parsed now."""
        if tree is None:
            tree = self._parsed(source if python is None else python)
        self._pending.append((source, execution_count, python, cell_id, None, tree))
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="nbmodels-notes",
                                            daemon=True)
            self._worker.start()
        self._wake.set()

    def flush(self) -> None:
        """Note every queued cell now."""
        with self._lock:
            while self._pending:
                self._note_now(*self._pending.popleft())

    def _work(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()

    def clear(self) -> None:
        """Forget every note, queued ones too (a namespace reset)."""
        with self._lock:
            self._pending.clear()
            self._reset()

    def _reset(self) -> None:
        self._notes: dict[int, CellNote] = {}  # kept notes by seq, in execution order
        self._producers: dict[str, int] = {}  # name -> seq of the latest note binding it
        self._refs: dict[int, int] = {}  # seq -> names + kept notes pointing at it
        # cell id (else hash(source)) -> seq of its first run; as many as notes at most
        self._positions: dict[str | int, int] = {}
        self._modules: set[str] = set()  # names whose latest binding was an import
        self._seq = itertools.count(1)
        self.dropped_below = 0  # notes with a smaller seq may have been dropped by the cap

    def __len__(self) -> int:
        self.flush()
        return len(self._notes)

    def get(self, seq: int | None) -> CellNote | None:
        self.flush()
        return self._notes.get(seq) if seq is not None else None

    def producer(self, name: str) -> CellNote | None:
        self.flush()
        return self.get(self._producers.get(name))

    def note(self, source: str, execution_count: int | None = None,
             python: str | None = None, cell_id: str | None = None,
             names: CellNames | None = None) -> CellNote:
        """Note a cell that just ran, after the queued ones: `source` as typed, `python` as
        IPython ran it (default: `source`), `cell_id` the notebook cell's id when known;
        `names`: the tracking core's walk of the cell's Python, when it has one (then the
        cell is not parsed again). Returns the note (usable even when nothing keeps it)."""
        with self._lock:
            self.flush()
            tree = None if names is not None else \
                self._parsed(source if python is None else python)
            return self._note_now(source, execution_count, python, cell_id, names, tree)

    def _parsed(self, source: str) -> ast.Module | None:
        try:
            return _parse(source)
        except Exception:  # noqa: BLE001  (RecursionError on a pathological cell)
            self.failures += 1
            return None

    def _note_now(self, source: str, execution_count: int | None, python: str | None,
                  cell_id: str | None, names: CellNames | None = None,
                  tree: ast.Module | None = None) -> CellNote:
        """Note a cell from the tracking core's `names` of it, else from its `tree`."""
        try:
            binds, reads, imported = names_from(names, self._modules) if names is not None \
                else names_in(tree, self._modules)
        except Exception:  # noqa: BLE001  (RecursionError on a pathological cell)
            self.failures += 1
            binds = reads = imported = frozenset()
        self._modules.difference_update(binds)
        self._modules.update(imported)
        producers = self._producers
        builtin = builtins.__dict__
        reads = frozenset(n for n in reads if n not in self.ignored
                          and (n in producers or n not in builtin))
        seq = next(self._seq)
        position = self._positions.setdefault(cell_id or hash(source), seq)
        note = CellNote(seq, execution_count, source, binds, reads,
                        {n: producers.get(n) for n in reads},
                        python if python != source else None, cell_id, position)
        self._notes[seq] = note
        self._refs[seq] = 0
        for dep in set(note.deps.values()):
            if dep is not None:
                self._refs[dep] += 1
        for name in binds:
            old = producers.get(name)
            producers[name] = seq
            self._refs[seq] += 1
            if old is not None:
                self._release(old)
        if not self._refs[seq]:
            self._drop(seq)
        self._enforce_cap()
        return note

    def _release(self, seq: int) -> None:
        self._refs[seq] -= 1
        if not self._refs[seq]:
            self._drop(seq)

    def _drop(self, seq: int) -> None:
        """Forget a note and release what it read from (iteratively: chains run long)."""
        stack = [seq]
        while stack:
            note = self._notes.pop(stack.pop())
            del self._refs[note.seq]
            for dep in set(note.deps.values()):
                if dep is not None and dep in self._refs:
                    self._refs[dep] -= 1
                    if not self._refs[dep]:
                        stack.append(dep)

    def _enforce_cap(self) -> None:
        while len(self._notes) > self.max_notes:
            oldest = next(iter(self._notes.values()))
            self.dropped_below = max(self.dropped_below, oldest.seq + 1)
            for name in oldest.binds:
                if self._producers.get(name) == oldest.seq:
                    del self._producers[name]
            self._refs[oldest.seq] = 0
            self._drop(oldest.seq)
        while len(self._positions) > self.max_notes:
            del self._positions[next(iter(self._positions))]

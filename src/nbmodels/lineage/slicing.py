"""A run's lineage: the noted cells that produced what the tracked cell read, and its flags.

The slice follows each note's `deps` (the producer of every name it read, when it ran)
from the tracked cell back, transitively, and lists the cells in execution order, the
tracked cell last. Flags (`LineageFlag.kind`):

- `unknown_producer`: a name read that no kept note bound (defined before
  `%load_ext nbmodels`, by `%run`/`exec`, or a note dropped past the cap);
- `rebound`: a name a slice cell read was bound again later, before the run, by a cell not
  in the slice: the notebook's current value is not the one the run used;
- `out_of_order`: a slice cell ran after a slice cell that sits below it in the notebook.
  With the notebook file: its code cells' order (cells matched by source). Without it: a
  cell's place is when its source first ran in this session (a notebook run top to bottom
  once gives the notebook's order);
- `edited`: with the notebook file, a slice cell whose source is not in it, or whose
  execution count belongs there to another source (edited since it ran, or not saved).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import NamedTuple

from ..records import Lineage, LineageCell, LineageFlag
from .notes import CellNote, CellNotes


class NotebookCell(NamedTuple):
    """A code cell of the notebook file, as saved."""

    source: str
    execution_count: int | None = None
    id: str | None = None


def lineage_of(notes: CellNotes, tracked: CellNote, namespace: dict | None = None,
               notebook: list[NotebookCell] | None = None) -> Lineage:
    """The lineage of the cell `tracked` (already noted), with its flags. `namespace`: the
    kernel's, so a name never defined is no `unknown_producer`; `notebook`: the notebook
    file's code cells in order (`notebook_cells`). The
    `run_id` is left empty: the registry sets it when it stores the run."""
    slice_, unknown, dropped = _walk(notes, tracked)
    if namespace is not None:
        unknown = {n for n in unknown if n in namespace}
    cells = sorted(slice_.values(), key=lambda note: note.seq)
    flags = [*_unknown_flags(unknown, dropped, notes.max_notes),
             *_rebound_flags(notes, cells, tracked),
             *_order_flags(cells, notebook),
             *_edited_flags(cells, notebook)]
    return Lineage("", tuple(_cell(note) for note in cells), tuple(flags))


def _walk(notes: CellNotes, tracked: CellNote):
    """The notes reached from `tracked` by seq, and the names whose producer is unknown
    (never noted) or dropped (past the cap)."""
    found: dict[int, CellNote] = {tracked.seq: tracked}
    unknown: set[str] = set()
    dropped: set[str] = set()
    stack = [tracked]
    while stack:
        note = stack.pop()
        for name, seq in note.deps.items():
            if seq is None:  # e.g. a global of a function body, bound after the def ran
                latest = notes.producer(name)
                seq = latest.seq if latest is not None and latest.seq < tracked.seq else None
            if seq is None or seq == note.seq:
                if name not in note.binds:
                    unknown.add(name)
                continue
            if seq in found:
                continue
            producer = notes.get(seq)
            if producer is None:
                dropped.add(name)
                continue
            found[seq] = producer
            stack.append(producer)
    return found, unknown, dropped


def _cell(note: CellNote) -> LineageCell:
    return LineageCell(note.execution_count, note.source, tuple(sorted(note.binds)),
                       tuple(sorted(note.reads)))


def _label(note: CellNote) -> str:
    return f"[{note.execution_count}]" if note.execution_count is not None else "[?]"


def _unknown_flags(unknown: set[str], dropped: set[str], cap: int) -> list[LineageFlag]:
    flags = []
    if unknown:
        names = tuple(sorted(unknown))
        flags.append(LineageFlag("unknown_producer", names, None, (
            f"no noted cell bound {', '.join(names)}: defined before %load_ext nbmodels, "
            "or by code outside the notebook's cells")))
    if dropped:
        names = tuple(sorted(dropped))
        flags.append(LineageFlag("unknown_producer", names, None, (
            f"the cells that bound {', '.join(names)} ran more than {cap:,} cells ago: "
            "their notes were dropped")))
    return flags


def _rebound_flags(notes: CellNotes, cells: list[CellNote], tracked: CellNote):
    in_slice = {note.seq for note in cells}
    for note in cells:
        for name, seq in sorted(note.deps.items()):
            latest = notes.producer(name)
            if seq is None or latest is None or latest.seq in in_slice:
                continue
            if seq < latest.seq < tracked.seq:
                made = notes.get(seq)
                yield LineageFlag("rebound", (name,), latest.execution_count, (
                    f"{name} was bound again by cell {_label(latest)} after cell "
                    f"{_label(made) if made else '[?]'} made it: the run used the earlier value"))


def _find(notebook: list[NotebookCell], note: CellNote) -> tuple[int, NotebookCell] | None:
    """The notebook cell a note ran from: by cell id when both have one, else by source."""
    if note.cell_id is not None:
        for i, cell in enumerate(notebook):
            if cell.id == note.cell_id:
                return i, cell
    source = note.source.strip()
    for i, cell in enumerate(notebook):
        if cell.source.strip() == source:
            return i, cell
    return None


def _order_flags(cells: list[CellNote], notebook):
    if notebook is not None:
        places = [found[0] if (found := _find(notebook, note)) else None for note in cells]
    else:
        places = [note.position for note in cells]
    lowest: tuple[int, CellNote] | None = None  # the lowest cell in the notebook so far
    for note, place in zip(cells, places):
        if place is None:
            continue
        if lowest is not None and place < lowest[0]:
            below = lowest[1]
            yield LineageFlag("out_of_order", tuple(sorted(note.binds)), note.execution_count, (
                f"cell {_label(note)} ran after cell {_label(below)}, which is below it in "
                "the notebook"))
        elif lowest is None or place > lowest[0]:
            lowest = (place, note)


def _edited_flags(cells: list[CellNote], notebook):
    if notebook is None:
        return
    by_count = {cell.execution_count: cell.source.strip() for cell in notebook
                if cell.execution_count is not None}
    for note in cells:
        source = note.source.strip()
        found = _find(notebook, note)
        shown = by_count.get(note.execution_count)
        if found is None or found[1].source.strip() != source or \
                (shown is not None and shown != source):
            yield LineageFlag("edited", tuple(sorted(note.binds)), note.execution_count, (
                f"cell {_label(note)} is not in the saved notebook as it ran: edited since, "
                "or the notebook is not saved"))


def notebook_cells(path: str | None) -> list[NotebookCell] | None:
    """The code cells of an .ipynb file, in order; None when there is no path or the file
    cannot be read as a notebook."""
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    # A notebook with its outputs can be megabytes: parsed again only when it was saved.
    key = (stat.st_mtime_ns, stat.st_size)
    known = _read_notebooks.get(path)
    if known is not None and known[0] == key:
        return known[1]
    try:
        with open(path, encoding="utf-8") as file:
            cells = json.load(file)["cells"]
        found = [NotebookCell(_text(cell.get("source", "")), cell.get("execution_count"),
                              cell.get("id")) for cell in cells if cell.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        found = None
    _read_notebooks.clear()  # one notebook per kernel: keep only the last one read
    _read_notebooks[path] = (key, found)
    return found


_read_notebooks: dict[str, tuple[tuple[int, int], list[NotebookCell] | None]] = {}


def _text(source: str | Iterable[str]) -> str:
    return source if isinstance(source, str) else "".join(source)

"""Scenario: lineage (issue 10). The cell note of an untracked 50-line cell, autotrack on a
cell that fits nothing, and the lineage of a run in a 2,000-cell session computed and
stored; notes kept after 2,000 and 20,000 cells (the memory bound)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from common import Measure, run_cell


def _cell(i: int, lines: int = 50) -> str:
    """A 50-line feature cell (lines of ~45 characters) reading the frame `i - 1` made."""
    frame, previous = f"frame_{i % 40}", f"frame_{(i - 1) % 40}"
    body = [f"# step {i}: derive features", f"{frame} = {previous}.copy()"]
    body += [f"{frame}['f{k}'] = {frame}['x'] * {k} + offset_{k % 5}" for k in range(lines - 4)]
    body += [f"summary_{i % 7} = {frame}.describe()", f"print(len({frame}))"]
    return "\n".join(body)


_START = ["import numpy as np\nimport pandas as pd",
          "scale = 2.0\n" + "\n".join(f"offset_{k} = {k}" for k in range(5)),
          "frame_39 = pd.DataFrame({'x': np.arange(1000.0)})"]


def _chain(notes, cells: int) -> None:
    """Worst case: every cell reads what the cell before it made (the slice is them all)."""
    for i, source in enumerate(_START + [_cell(i) for i in range(cells)]):
        notes.note(source, i + 1)


def _notebook(notes, cells: int) -> None:
    """A 40-cell notebook (data, 30 exploring cells, features, split) run again and again."""
    explore = [f"ax_{k} = data.plot(x='x', y='y{k % 3}')\nstats_{k} = data.describe()"
               for k in range(30)]
    notebook = _START[:2] + [
        "data = pd.DataFrame({'x': np.arange(1000.0), 'y0': 1.0, 'y1': 2.0, 'y2': 3.0})",
        *explore, "features = data[['x', 'y0']] * scale + offset_1",
        "target = data['y1'] > 1", *(f"note_{k} = 'free text {k}'" for k in range(4)),
        ("from sklearn.model_selection import train_test_split\n"
         "X_train, X_test, y_train, y_test = train_test_split(features, target)")]
    for i in range(cells):
        notes.note(notebook[i % len(notebook)], i + 1)


def _timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def run(opts, results, ip, home) -> None:
    from nbmodels import Registry
    from nbmodels.lineage import CellNotes, lineage_of
    from nbmodels.magics import lineage as surface
    from nbmodels.registry.lineage import lineage_row
    from nbmodels.tracking import CellRecord

    scenario = "10-lineage"
    repeat = 20 if opts.quick else 200
    print(f"\n[{scenario}] cell notes, autotrack's check, lineage in a 2,000-cell session")

    # the note of an untracked 50-line cell: the kernel's post_execute hook queues it with
    # the tree IPython parsed to run it; its walk runs in a background thread (parse and
    # walk measured on their own below)
    import numpy as np
    import pandas as pd

    ip.push({"frame_39": pd.DataFrame({"x": np.arange(100.0)}), "scale": 2.0,
             **{f"offset_{k}": k for k in range(5)}})
    run_cell(ip, _cell(0))
    hook = surface._surface

    def note_again():
        hook._noted_result = None
        hook.note_current(later=True)

    note = results.add(Measure(scenario, "cell note, untracked 50-line cell (post_execute)",
                               "nbmodels", _timed(note_again, repeat)))
    hook.notes.flush()
    results.target(scenario, "cell note per untracked 50-line cell", note.median, 0.0003)
    analysis = CellNotes()
    source = _cell(1)
    results.add(Measure(scenario, "cell note analysis, 50 lines (parse + walk; the walk runs in the background)",
                        "nbmodels", _timed(lambda: analysis.note(source, 1), repeat)))

    # autotrack's check on cells that fit nothing: no fit call in the text (X_train is no
    # call), or one inside a function the cell only defines (parsed to know)
    ip.run_line_magic("autotrack", "on")
    plain = (_cell(1) + "\nX_train.shape").splitlines(keepends=True)
    defined = ("def train_all(models):\n    for m in models:\n        m.fit(X, y)\n"
               + _cell(2)).splitlines(keepends=True)
    check = results.add(Measure(scenario, "autotrack check, 50 lines, no fit call", "nbmodels",
                                _timed(lambda: surface.transform_autotrack(plain), repeat)))
    results.add(Measure(scenario, "autotrack check, 50 lines, .fit( only in a def (parsed)",
                        "nbmodels", _timed(lambda: surface.transform_autotrack(defined), repeat)))
    ip.run_line_magic("autotrack", "off")
    results.target(scenario, "autotrack on a cell that fits nothing", check.median, 0.0005)

    # lineage of a run at the end of a 2,000-cell session: computed and stored
    registry = Registry(home)
    now = datetime.now(UTC)
    run = registry.record_run(CellRecord("model = ...", "bench-lineage", "ok", now, now, {}))
    train = "from sklearn.linear_model import Ridge\nmodel = Ridge().fit(X_train, y_train)"
    kept_2k = 0
    for label, session, limit in (("notebook run 50 times", _notebook, 0.020),
                                  ("every cell reads the one before", _chain, None)):
        notes = CellNotes()
        session(notes, 2000)
        kept_2k = max(kept_2k, len(notes))
        tracked = notes.note(train if session is _notebook else train.replace(
            "X_train, y_train", "frame_7[['f1']], frame_7['x']"), 2001)
        size = len(lineage_of(notes, tracked).cells)

        def compute_and_store(notes=notes, tracked=tracked):
            lineage = lineage_of(notes, tracked, namespace=None, notebook=None)
            with registry.store.write():
                registry.store.insert("lineage", [lineage_row(run.id, lineage)])
            registry.store.db.execute("DELETE FROM lineage WHERE run_id = ?", [run.id])

        stored = results.add(Measure(
            scenario, f"lineage in a 2,000-cell session ({label}: {size} cells), computed "
            "+ stored", "nbmodels", _timed(compute_and_store, max(5, repeat // 10))))
        if limit:
            results.target(scenario, "lineage computed and stored, 2,000-cell session",
                           stored.median, limit)

    bound = CellNotes()
    _chain(bound, 20000)
    line = (f"notes kept: at most {kept_2k:,} after 2,000 cells, {len(bound):,} after "
            f"20,000 chained cells (cap {bound.max_notes:,})")
    print(f"  {line}")
    results.notes.append(f"{scenario}: {line}")

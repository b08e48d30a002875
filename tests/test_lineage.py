"""Lineage (issue 10): cell notes, the slice stored with each run and its flags, `%lineage`,
`Registry.lineage` and `nbmodels lineage`, through a real IPython shell and, for a real
notebook, a headless kernel."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import nbformat
import pytest
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry
from nbmodels.cli import main
from nbmodels.errors import NotFoundError
from nbmodels.lineage import CellNotes, lineage_of, names_of
from tests.helpers import run_cells

CORPUS = Path(__file__).parent / "corpus"

LOAD = ("import pandas as pd\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "raw = load_breast_cancer(as_frame=True).frame")
CLEAN = "df = raw.drop(columns=['mean area'])"
HELPER = "def features(frame):\n    return frame.drop(columns=[TARGET])"
CONST = "TARGET = 'target'"
UNRELATED = "unrelated = [1, 2, 3]\nprint(len(unrelated))"
SPLIT = ("from sklearn.model_selection import train_test_split\n"
         "X_train, X_test, y_train, y_test = train_test_split(\n"
         "    features(df), df[TARGET], random_state=0)")
TRAIN = ("%%track lineage\n"
         "from sklearn.tree import DecisionTreeClassifier\n"
         "clf = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X_train, y_train)")


def _sources(lineage) -> list[str]:
    return [cell.source for cell in lineage.cells]


def _kinds(lineage) -> dict[str, list]:
    found: dict[str, list] = {}
    for flag in lineage.flags:
        found.setdefault(flag.kind, []).append(flag)
    return found


# ---- cell notes, without a shell ---------------------------------------------------------


def test_notes_see_imports_defs_classes_in_place_changes_and_function_globals():
    binds, reads, _ = names_of(
        "import numpy as np\nfrom os import path as p\n"
        "def f(frame):\n    return frame * SCALE + np.pi\n"
        "class Model:\n    pass\n"
        "df['x'] = 1\nlog.append(2)\nframe2.dropna(inplace=True)\nclf.fit(X, y)\n")
    assert binds == {"np", "p", "f", "Model", "df", "log", "frame2", "clf"}
    assert reads == {"SCALE", "df", "log", "frame2", "clf", "X", "y"}
    # a name imported (here, or by an earlier cell) is a module: xgb.train() changes no xgb
    assert names_of("import xgboost as xgb\nbst = xgb.train(p, d)")[0] == {"xgb", "bst"}
    notes = CellNotes()
    notes.note("import xgboost as xgb")
    assert notes.note("bst = xgb.train(p, d)").binds == {"bst"}


def test_notes_memory_is_bounded_by_references_and_by_the_cap():
    notes = CellNotes(max_notes=50)
    for i in range(1000):  # the same name rebound: only its latest producer is kept
        notes.note(f"a = {i}", i)
    assert len(notes) == 1 and notes.producer("a").source == "a = 999"
    for i in range(1000):  # cells nothing reads from and that bind nothing: none kept
        notes.note(f"print(a + {i})", i)
    assert len(notes) == 1
    chain = CellNotes(max_notes=50)
    chain.note("x = 0", 0)
    for i in range(1, 1000):  # every cell reads the one before: a chain the cap cuts
        last = chain.note(f"x = x + {i}", i)
    assert len(chain) == 50
    lineage = lineage_of(chain, last)
    assert len(lineage.cells) == 50 and lineage.cells[-1].source == "x = x + 999"
    [flag] = lineage.flags
    assert flag.kind == "unknown_producer" and flag.names == ("x",) and "dropped" in flag.detail


# ---- through a real shell ------------------------------------------------------------------


def test_the_run_stores_exactly_the_producing_cells_in_execution_order(shell, registry_home):
    run_cells(shell, LOAD, CLEAN, CONST, HELPER, UNRELATED, SPLIT)
    with capture_output():
        run_cells(shell, TRAIN)
    run = nbmodels.last_run()
    lineage = Registry(registry_home).lineage(run.id)
    assert lineage.run_id == run.id
    assert _sources(lineage) == [LOAD, CLEAN, CONST, HELPER, SPLIT, TRAIN]
    counts = [cell.execution_count for cell in lineage.cells]
    assert counts == sorted(counts) and UNRELATED not in _sources(lineage)
    last = lineage.cells[-1]
    assert last.binds == ("DecisionTreeClassifier", "clf") and last.reads == ("X_train", "y_train")
    assert lineage.cells[3].reads == ("TARGET",)  # the helper's body reads a global
    assert lineage.flags == ()
    # stored in the lineage table, one row for the run
    with sqlite3.connect(registry_home / "registry.db") as conn:
        rows = conn.execute("SELECT run_id, cells FROM lineage").fetchall()
    assert [r[0] for r in rows] == [run.id] and len(json.loads(rows[0][1])) == 6


def test_rebound_out_of_order_and_unknown_producer_are_flagged(shell, registry_home):
    shell.push({"LIMIT": 3})  # bound outside any cell: no producer
    small = "X_small = features(X_train.assign(target=y_train)).iloc[:, :LIMIT]"
    run_cells(shell, LOAD, CLEAN, CONST, HELPER, SPLIT,
              HELPER,  # the helper (above the split in the notebook) run again, after it
              small,
              "df = None")  # rebinds what the split read, after it ran
    with capture_output():
        run_cells(shell, "%%track\nfrom sklearn.tree import DecisionTreeClassifier\n"
                         "tree = DecisionTreeClassifier(max_depth=2).fit(X_small, y_train)")
    lineage = Registry(registry_home).lineage(nbmodels.last_run().id)
    flags = _kinds(lineage)
    assert set(flags) == {"out_of_order", "rebound", "unknown_producer"}
    [unknown] = flags["unknown_producer"]
    assert unknown.names == ("LIMIT",)
    assert {f.names for f in flags["rebound"]} == {("df",)}
    [order] = flags["out_of_order"]
    assert order.names == ("features",) and "below it" in order.detail
    # both runs of the helper: the one the split called, the one X_small's cell called
    assert _sources(lineage) == [LOAD, CLEAN, CONST, HELPER, SPLIT, HELPER, small,
                                 lineage.cells[-1].source]


def test_edited_and_out_of_order_judged_against_the_notebook_file(shell, registry_home, tmp_path):
    notebook = tmp_path / "analysis.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in
                                         (LOAD, CLEAN, CONST, HELPER, SPLIT, TRAIN)])
    nbformat.write(nb, notebook)
    shell.user_ns["__vsc_ipynb_file__"] = str(notebook)  # how VS Code names the notebook
    run_cells(shell, LOAD, "df = raw.drop(columns=['mean radius'])", CONST, HELPER, SPLIT)
    with capture_output():
        run_cells(shell, TRAIN)
    flags = _kinds(Registry(registry_home).lineage(nbmodels.last_run().id))
    assert set(flags) == {"edited"}
    assert flags["edited"][0].names == ("df",)


def test_lineage_of_a_version_and_of_runs_without_notes(shell, registry, registry_home):
    fit = "%%track\nfrom sklearn.linear_model import LogisticRegression\nm = LogisticRegression().fit(X, labels)"
    run_cells(shell, "X = [[0.0], [1.0], [2.0], [3.0]]", "labels = [0, 0, 1, 1]")
    with capture_output():
        run_cells(shell, fit, "%register m counter")
    assert _sources(registry.lineage("counter@1.0.0")) == [
        "X = [[0.0], [1.0], [2.0], [3.0]]", "labels = [0, 0, 1, 1]", fit]
    from sklearn.linear_model import LogisticRegression

    registry.register(LogisticRegression().fit([[0], [1]], [0, 1]), "live")
    with pytest.raises(NotFoundError, match="no lineage"):
        registry.lineage("live@1.0.0")
    from tests.helpers import record_fit

    record_fit(registry, LogisticRegression().fit([[0], [1]], [0, 1]), "clf = fit()")
    bare = registry.lineage(registry.list_runs()[0].id)
    assert _sources(bare) == ["clf = fit()"] and bare.flags[0].kind == "unknown_producer"


def test_the_widget_details_show_the_producing_cells_escaped(shell, registry, registry_home):
    from nbmodels.widgets import ModelsBrowser

    run_cells(shell, "X = [[0.0], [1.0], [2.0], [3.0]]", "labels = [0, 0, 1, 1]  # <b>bold</b>")
    with capture_output():
        run_cells(shell, "%%track\nfrom sklearn.linear_model import LogisticRegression\n"
                         "m = LogisticRegression().fit(X, labels)", "%register m counter")
    browser = ModelsBrowser(registry, {}, name="counter")
    browser.grid.selected = ["counter@1.0.0"]
    details = browser.details.value
    assert "Cells that produced it (3)" in details
    assert "X = [[0.0], [1.0], [2.0], [3.0]]" in details
    assert "&lt;b&gt;bold&lt;/b&gt;" in details and "<b>bold</b>" not in details


def test_percent_lineage_shows_cells_and_flags_escaped(shell, registry_home):
    run_cells(shell, "label = '<script>alert(1)</script>'")
    with capture_output():
        run_cells(shell, "%%track\nshown = label * 2")
    with capture_output() as out:
        run_cells(shell, "%lineage")
    html, text = out.outputs[0].data["text/html"], out.outputs[0].data["text/plain"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "In [" in text and "label = '<script>alert(1)</script>'" in text
    with capture_output() as out:
        run_cells(shell, f"%lineage {nbmodels.last_run().id}")
    assert "shown = label * 2" in out.outputs[0].data["text/plain"]
    assert not shell.run_cell("%lineage nosuchmodel@1.0.0").success


def test_cli_lineage_json(shell, registry_home, capsys):
    run_cells(shell, "a = 1")
    with capture_output():
        run_cells(shell, "%%track\nb = a + 1")
    run_id = nbmodels.last_run().id
    capsys.readouterr()
    assert main(["lineage", run_id[:10], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"run": run_id, "flags": [], "cells": [
        {"execution_count": shown["cells"][0]["execution_count"], "source": "a = 1",
         "binds": ["a"], "reads": []},
        {"execution_count": shown["cells"][1]["execution_count"], "source": "%%track\nb = a + 1",
         "binds": ["b"], "reads": ["a"]}]}
    assert main(["lineage", run_id]) == 0
    assert "b = a + 1" in capsys.readouterr().out
    assert main(["lineage", "nosuch@1.0.0"]) == 1


# ---- a real notebook, headless ---------------------------------------------------------------


@pytest.mark.slow
def test_notebook_lineage_then_an_out_of_order_rerun(tmp_path, registry_home):
    from nbclient import NotebookClient

    workdir = tmp_path / "work"
    workdir.mkdir()
    path = workdir / "lineage.ipynb"
    shutil.copy(CORPUS / "lineage.ipynb", path)
    nb = nbformat.read(path, as_version=4)
    cells = {cell.id: cell for cell in nb.cells}
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    env = {**os.environ, "NBMODELS_HOME": str(registry_home), "JPY_SESSION_NAME": str(path)}
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        # the helper cell again, after the split below it had used it, then training again
        index = {cell.id: i for i, cell in enumerate(nb.cells)}
        client.execute_cell(cells["helper"], index["helper"])
        client.execute_cell(cells["train"], index["train"])
    registry = Registry(registry_home)
    first, second = [registry.lineage(r.id) for r in reversed(registry.list_runs())]
    producing = ["load", "clean", "helper", "split", "train"]
    assert _sources(first) == [cells[i].source for i in producing]
    assert cells["unrelated"].source not in _sources(first)
    assert [c.execution_count for c in first.cells] == [2, 3, 4, 6, 7]
    assert first.flags == ()
    kinds = _kinds(second)
    assert set(kinds) == {"out_of_order"}
    [order] = kinds["out_of_order"]
    assert order.names == ("clean_frame",) and order.execution_count == 8
    assert [c.execution_count for c in second.cells] == [2, 3, 4, 6, 8, 9]
    registry.close()


def test_reset_starts_the_notes_afresh(shell, registry_home):
    run_cells(shell, "a = 1", "%reset -f")
    shell.push({"a": 1})  # same name, now from outside any cell
    with capture_output():
        run_cells(shell, "%%track\nb = a + 1")
    lineage = Registry(registry_home).lineage(nbmodels.last_run().id)
    assert _sources(lineage) == ["%%track\nb = a + 1"]
    assert [(f.kind, f.names) for f in lineage.flags] == [("unknown_producer", ("a",))]


def test_the_notebook_file_is_parsed_again_only_when_it_changed(tmp_path, monkeypatch):
    from nbmodels.lineage import slicing

    path = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1")])
    nbformat.write(nb, path)
    reads = []
    real_load = slicing.json.load
    monkeypatch.setattr(slicing.json, "load", lambda f: reads.append(1) or real_load(f))
    assert [c.source for c in slicing.notebook_cells(str(path))] == ["a = 1"]
    assert [c.source for c in slicing.notebook_cells(str(path))] == ["a = 1"]
    assert len(reads) == 1  # the second tracked cell did not parse the file again
    nb.cells.append(nbformat.v4.new_code_cell("b = 2"))
    nbformat.write(nb, path)  # saved: larger, so re-read whatever the clock's resolution
    assert [c.source for c in slicing.notebook_cells(str(path))] == ["a = 1", "b = 2"]
    assert len(reads) == 2


def test_cells_are_parsed_on_the_kernel_thread_only(shell, registry_home, monkeypatch):
    """`ast.parse` in a second thread while IPython parses the next cell can fail either
    one with `SystemError: AST constructor recursion depth mismatch` (CPython gh-106905,
    seen in CI): the notes' worker walks trees, it never parses."""
    import ast

    parsed_on = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda *args, **kwargs: parsed_on.append(
        threading.current_thread().name) or real_parse(*args, **kwargs))
    with capture_output():
        run_cells(shell, "a = 1", "b = a + 1", "for i in range(3):\n    c = b * i",
                  "%%track\nd = c + 1")
    lineage = Registry(registry_home).lineage(nbmodels.last_run().id)
    assert _sources(lineage) == ["a = 1", "b = a + 1", "for i in range(3):\n    c = b * i",
                                 "%%track\nd = c + 1"]
    assert parsed_on and set(parsed_on) == {threading.main_thread().name}


def test_an_untracked_cell_is_noted_from_the_tree_ipython_ran(shell, registry_home,
                                                              monkeypatch):
    """IPython parses every cell to run it: its note walks that tree, not a second parse.
    A cell run inside another (its own pre_run_cell) does not lend its tree to the outer."""
    from nbmodels.lineage import notes

    parsed = []
    real_parse = notes._parse
    monkeypatch.setattr(notes, "_parse", lambda source: parsed.append(source) or real_parse(source))
    with capture_output():
        run_cells(shell, "a = 1", "b = a + 1",
                  "get_ipython().run_cell('inner = 5', store_history=True)\nc = b + 1",
                  "%%track\nd = c + inner")
    assert parsed == ["get_ipython().run_cell('inner = 5', store_history=True)\nc = b + 1\n"]
    lineage = Registry(registry_home).lineage(nbmodels.last_run().id)
    assert _sources(lineage) == ["a = 1", "b = a + 1", "inner = 5",
                                 "get_ipython().run_cell('inner = 5', store_history=True)\n"
                                 "c = b + 1", "%%track\nd = c + inner"]


def test_a_tracked_cell_is_walked_once_for_tracking_and_lineage(shell, registry_home,
                                                                monkeypatch):
    from nbmodels.lineage import notes

    parsed = []
    real_parse = notes._parse
    monkeypatch.setattr(notes, "_parse", lambda source: parsed.append(source) or real_parse(source))
    with capture_output():
        run_cells(shell, "a = 1", "%%track\nb = a + 1", "%%track\n%%time\nc = b * 2")
    # no cell was parsed for its note: the untracked one's is the tree IPython parsed to
    # run it, each tracked cell's came from the tracking core's walk
    assert parsed == []
    lineage = Registry(registry_home).lineage(nbmodels.last_run().id)
    # under %%time the note is of the body the magic ran, not of IPython's call of it
    assert _sources(lineage) == ["a = 1", "%%track\nb = a + 1", "%%track\n%%time\nc = b * 2"]
    assert lineage.cells[-1].binds == ("c",) and lineage.cells[-1].reads == ("b",)

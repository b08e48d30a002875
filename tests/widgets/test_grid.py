"""The versions grid (`nbmodels.widgets.Grid`): sort, select, page and search through its
traits, as the front-end (grid.js) sets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from nbmodels.widgets import Column, Grid


def _grid(count: int = 120, page_size: int = 50) -> Grid:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    items = [SimpleNamespace(ref=f"m@1.{i}.0", version=f"1.{i}.0", note=words[i % 7],
                             score=None if i % 10 == 0 else (i * 37 % 101) / 100)
             for i in range(count)]
    grid = Grid(key=lambda v: v.ref, search_text=lambda v: f"{v.ref}\n{v.note}",
                page_size=page_size, noun="version")
    grid.set_items(items, [Column("version", "version", lambda v: v.version),
                           Column("score", "score", lambda v: v.score, numeric=True),
                           Column("note", "note", lambda v: v.note)])
    return grid


def test_numbers_sort_as_numbers_with_empty_cells_last_both_ways():
    grid = _grid()
    grid.sort_by = "score"
    scores = [v.score for v in grid.items]
    assert scores[:108] == sorted(scores[:108], reverse=True) and scores[108:] == [None] * 12
    grid.descending = False
    scores = [v.score for v in grid.items]
    assert scores[:108] == sorted(scores[:108]) and scores[108:] == [None] * 12
    assert grid.rows[0]["cells"][1] == "0" and grid.page == 0  # 101 * 37 % 101 == 0


def test_selection_is_a_list_of_keys_that_survives_sorting_and_paging():
    grid = _grid()
    grid.selected = [grid.refs[0], grid.refs[3]]  # what ticking two checkboxes sends
    grid.sort_by = "note"
    grid.page = 2
    assert grid.selected == ["m@1.119.0", "m@1.116.0"]
    assert grid.refs[-1] == "m@1.119.0"  # "alpha" sorts last; 1.116.0 has "epsilon"
    html = grid.html()  # the static copy marks the selected rows
    assert html.count("<tr") == 21 and html.count("rgba(255, 193, 7") == 1


def test_paging_clamps_and_search_goes_back_to_the_first_page():
    grid = _grid(count=120, page_size=50)
    assert grid.page_label() == "120 version(s) · page 1/3"
    grid.page = 7
    assert grid.page == 2 and len(grid.rows) == 20
    grid.query = "m@1.11"  # 1.11.0 and 1.110.0-1.119.0
    assert grid.page == 0 and grid.total == 11
    grid.query = "M@1.11 ALPHA"  # every word, any case: alpha is i % 7 == 0
    assert grid.refs == ["m@1.119.0", "m@1.112.0"]
    grid.query = ""
    grid.page_size = 7
    assert grid.page_label() == "120 version(s) · page 1/18" and len(grid.rows) == 7


def test_single_focus_mode_keeps_one_row_selected():
    """`multiple=False` (the models grid, the runs grid): a click focuses one row; setting
    several keys keeps the last, as the front-end's radio buttons and row clicks do."""
    grid = _grid()
    grid.multiple = False
    grid.selected = ["m@1.3.0", "m@1.7.0"]
    assert grid.selected == ["m@1.7.0"]
    grid.selected = ["m@1.2.0"]
    assert grid.selected == ["m@1.2.0"]
    assert _grid().multiple  # checkboxes by default
    source = (Path(Grid._esm) if isinstance(Grid._esm, Path) else None)
    text = source.read_text() if source else str(Grid._esm)
    assert "'radio'" in text and "model.get('multiple')" in text


def test_a_source_sorts_filters_and_pages_and_only_the_page_is_held():
    """`set_source`: the grid asks the source for the shown page with the sort, the query
    and the offset; a column the source cannot sort by says so to the front-end."""
    asked = []
    data = [{"k": f"r{i:03d}", "score": i % 7} for i in range(23)]

    def fetch(query, sort_by, descending, offset, limit):
        asked.append((query, sort_by, descending, offset, limit))
        found = [d for d in data if query in d["k"]]
        found.sort(key=lambda d: (d[sort_by], d["k"]), reverse=descending)
        return found[offset:offset + limit], len(found)

    grid = Grid(key=lambda d: d["k"], page_size=10, multiple=False)
    grid.set_source(fetch, [Column("k", "key", lambda d: d["k"]),
                            Column("score", "score", lambda d: d["score"], numeric=True),
                            Column("note", "note", lambda d: None, sortable=False)])
    assert asked == [("", "k", True, 0, 10)]
    assert grid.refs[0] == "r022" and grid.page_label() == "23 row(s) · page 1/3"
    assert [c["sortable"] for c in grid.columns] == [True, True, False]
    grid.page = 9  # past the end: the last page
    assert grid.page == 2 and grid.refs == ["r002", "r001", "r000"]
    grid.sort_by = "score"
    assert asked[-1] == ("", "score", True, 0, 10) and grid.page == 0
    grid.query = "r01"
    assert grid.total == 10 and asked[-1][0] == "r01" and grid.items == grid.shown
    data.append({"k": "r010x", "score": 9})
    grid.reload()
    assert grid.total == 11 and grid.refs[0] == "r010x"


def test_cells_are_short_text_with_the_full_value_as_tooltip():
    grid = Grid(key=lambda v: v["k"], search_text=str)
    long = "a note that goes on and on " * 4
    grid.set_items([{"k": "x", "note": long}], [Column("note", "note", lambda v: v["note"],
                                                       limit=20)])
    [row] = grid.rows
    assert row["cells"] == [long[:19] + "…"] and row["titles"] == [long]


def test_the_front_end_never_parses_text_as_html():
    source = (Path(Grid._esm) if isinstance(Grid._esm, Path) else None)
    text = source.read_text() if source else str(Grid._esm)
    assert "textContent" in text and "innerHTML" not in text and "insertAdjacentHTML" not in text


def test_load_ext_stays_light_and_models_imports_the_grid():
    code = ("import sys\n"
            "from IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython()\n"
            "ip.run_line_magic('load_ext', 'nbmodels')\n"
            "heavy = ['anywidget', 'altair', 'vl_convert', 'tqdm', 'ipywidgets']\n"
            "print([m for m in heavy if m in sys.modules])\n"
            "ip.run_line_magic('models', '')\n"
            "print('anywidget' in sys.modules, 'altair' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    lines = out.stdout.strip().split("\n")
    assert (lines[0], lines[-1]) == ("[]", "True False"), out.stdout + out.stderr

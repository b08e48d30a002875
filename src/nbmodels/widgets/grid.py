"""`Grid`: one table widget for models, versions and runs: sortable by any column, rows
selected with checkboxes (or one focused row, `multiple=False`), one page at a time,
filtered as the search box is typed in.

A small anywidget front-end (grid.js, grid.css): Python keeps every item, sorts and filters
them and sends only the shown page (`rows`) to the browser, so 10,000 versions cost one
page of JSON; or, with `set_source`, a query (the registry's) sorts, filters and pages and
Python holds only the page. The front-end draws rows with `textContent` (nothing is parsed
as HTML) and writes the user's clicks back to `sort_by`, `descending`, `page` and
`selected`, which Python code (and tests) may set too. `html()` is the static copy of the
shown page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from ..htmlparts import STAGE_COLORS, TABLE, TD, cell, table, text

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Column:
    """A grid column: `get(item)` is the value shown (as short text) and sorted by;
    `numeric` columns sort as numbers with the empty cells last either way."""

    key: str
    label: str
    get: Callable[[Any], Any]
    numeric: bool = False
    limit: int = 40  # characters shown before an ellipsis (the full value is the tooltip)
    sortable: bool = True  # False: its header is plain text (a source that cannot sort by it)


class Grid(anywidget.AnyWidget):
    _esm = _HERE / "grid.js"
    _css = _HERE / "grid.css"

    columns = t.List(t.Dict()).tag(sync=True)
    rows = t.List(t.Dict()).tag(sync=True)
    sort_by = t.Unicode("").tag(sync=True)
    descending = t.Bool(True).tag(sync=True)
    query = t.Unicode("").tag(sync=True)
    page = t.Int(0).tag(sync=True)
    page_size = t.Int(50).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    noun = t.Unicode("row").tag(sync=True)
    multiple = t.Bool(True).tag(sync=True)  # False: a click focuses one row (`selected` = [it])

    def __init__(self, key: Callable[[Any], str], search_text: Callable[[Any], str] = str,
                 page_size: int = 50, noun: str = "row", natural: str | None = None,
                 **kwargs):
        """`key(item)` is a row's key (what `selected` holds); `search_text(item)` what the
        query looks in. The items come in the order of column `natural` (default: the
        first column), oldest first: sorting by it keeps (or reverses) that order."""
        super().__init__(page_size=max(1, int(page_size)), noun=noun, **kwargs)
        self._key, self._search_text, self._natural = key, search_text, natural
        self._fetch: Callable | None = None
        self._items: list = []
        self._columns: list[Column] = []
        self._texts: dict[int, str] = {}
        self._shown: list = []
        self._quiet = False
        self.observe(self._on_view, ["sort_by", "descending", "query", "page_size"])
        self.observe(self._on_page, "page")

    @t.validate("selected")
    def _one_when_single(self, proposal):
        chosen = proposal["value"]
        return chosen if self.multiple else chosen[-1:]

    # ---- content ------------------------------------------------------------------------

    def set_items(self, items: list, columns: list[Column], query: str = "") -> None:
        """Show `items` (in their natural order: the first column sorts by it) with
        `columns`, filtered by `query`, from the first page; the sort stays when its column
        still exists."""
        self._fetch = None
        self._items, self._texts = list(items), {}
        self._show(columns, query)

    def set_source(self, fetch: Callable[..., tuple[list, int]], columns: list[Column],
                   query: str = "") -> None:
        """Show the rows `fetch(query, sort_by, descending, offset, limit)` returns as
        `(items on the page, how many match)`: the source (a registry query) sorts, filters
        and pages, and the grid asks it for the shown page only (again on every sort, page
        or query change, and on `reload()`)."""
        self._fetch, self._items, self._texts = fetch, [], {}
        self._show(columns, query)

    def reload(self) -> None:
        """Show the current page again (a source's rows may have changed)."""
        self._render()

    def _show(self, columns: list[Column], query: str) -> None:
        self._columns = list(columns)
        keys = [c.key for c in columns]
        natural = self._natural if self._natural in keys else keys[0] if keys else ""
        self._quiet = True  # one render below, not one per trait set here
        try:
            self.columns = [{"key": c.key, "label": c.label, "numeric": c.numeric,
                             "sortable": c.sortable, "natural": c.key == natural}
                            for c in columns]
            if self.sort_by not in keys:
                self.sort_by, self.descending = natural, True
            self.query, self.page = query, 0
        finally:
            self._quiet = False
        self._render()

    @property
    def items(self) -> list:
        """Every item that matches the query, in the grid's order (all pages; with a
        `set_source` source, the shown page only)."""
        if self._fetch is not None:
            return self.shown
        matching = self._matching()
        column = next((c for c in self._columns if c.key == self.sort_by), None)
        if column is None:
            return matching
        if self.columns[self._columns.index(column)]["natural"]:  # e.g. oldest version first
            return matching[::-1] if self.descending else matching
        values = [(_sortable(column.get(item), column.numeric), item) for item in matching]
        present = [p for p in values if p[0] is not None]
        present.sort(key=lambda p: p[0], reverse=self.descending)
        return [item for _, item in present] + [item for value, item in values if value is None]

    @property
    def shown(self) -> list:
        """The items on the current page."""
        return list(self._shown)

    @property
    def refs(self) -> list[str]:
        """The keys (REFs) of the rows on the current page."""
        return [self._key(item) for item in self._shown]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    def page_label(self) -> str:
        return f"{self.total} {self.noun}(s) · page {self.page + 1}/{self.pages}"

    def turn(self, step: int) -> None:
        """Go `step` pages forward (or back)."""
        self.page = min(max(self.page + step, 0), self.pages - 1)

    def _matching(self) -> list:
        words = self.query.lower().split()
        if not words:
            return self._items
        return [item for item in self._items if all(w in self._text(item) for w in words)]

    def _text(self, item) -> str:
        found = self._texts.get(id(item))
        if found is None:
            found = self._texts[id(item)] = self._search_text(item).lower()
        return found

    def _on_view(self, _change) -> None:
        if self._quiet:
            return
        if self.page:
            self.page = 0  # renders
        else:
            self._render()

    def _on_page(self, _change) -> None:
        if not self._quiet:
            self._render()

    def _render(self) -> None:
        if self._fetch is not None:
            total, page = self._fetch_page()
        else:
            ordered = self.items
            total = len(ordered)
            page = min(max(self.page, 0), math.ceil(total / self.page_size) - 1) if total else 0
            self._shown = ordered[page * self.page_size:(page + 1) * self.page_size]
        rows = [{"key": self._key(item),
                 "cells": [_cell_text(c.get(item), c.limit) for c in self._columns],
                 "titles": [_title(c.get(item), c.limit) for c in self._columns]}
                for item in self._shown]
        self._quiet = True
        try:
            self.total, self.page, self.rows = total, page, rows
        finally:
            self._quiet = False

    def _fetch_page(self) -> tuple[int, int]:
        """The source's page (the last one when `page` is past it)."""
        page = max(self.page, 0)
        fetch = self._fetch
        items, total = fetch(self.query, self.sort_by, self.descending,
                             page * self.page_size, self.page_size)
        last = max(0, math.ceil(total / self.page_size) - 1)
        if page > last:
            page = last
            items, total = fetch(self.query, self.sort_by, self.descending,
                                 page * self.page_size, self.page_size)
        self._shown = list(items)
        return total, page

    # ---- static copy ----------------------------------------------------------------------

    def html(self) -> str:
        """The shown page as a static HTML table (what a saved notebook keeps)."""
        if not self._shown:
            return ""
        chosen = set(self.selected)
        header = [("▼ " if self.descending else "▲ ") + c.label if c.key == self.sort_by
                  else c.label for c in self._columns]
        rows = []
        for item in self._shown:
            cells = []
            for column in self._columns:
                value = column.get(item)
                if column.key == "stage":
                    color = STAGE_COLORS.get(value, STAGE_COLORS[None])
                    cells.append(cell(value, column.limit, style=f"{TD}; color: {color}; "
                                      "white-space: nowrap"))
                else:
                    cells.append(cell(value, column.limit, style=f"{TD}; white-space: nowrap"))
            rows.append((cells, self._key(item) in chosen))
        return table(header, rows, style=f"{TABLE}; font-variant-numeric: tabular-nums")


def _sortable(value, numeric: bool):
    if numeric:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return None
        return value
    return None if value in (None, "") else str(value).lower()


def _cell_text(value, limit: int) -> str:
    return "" if value is None else text(value, limit)


def _title(value, limit: int) -> str:
    full = "" if value is None else str(value) if not isinstance(value, dict) else \
        ", ".join(f"{k}={v}" for k, v in value.items())
    return full if len(full) > limit else ""

"""Small HTML pieces shared by the static views (comparison, browser snapshot, details):
tables, collapsible sections, notes, short value text. No ipywidgets, no IPython: the
comparison engine renders its `_repr_html_` with them. Every user string is escaped here.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px"
MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 12px"
CHANGED = "background: rgba(255, 193, 7, 0.18)"
TABLE = "border-collapse: collapse; margin: 4px 0"
TD = "padding: 2px 8px; border-bottom: 1px solid rgba(128, 128, 128, 0.25); text-align: left; " \
     "vertical-align: top"
TH = TD + "; font-weight: 600"
GOOD, BAD = "#2e7d32", "#c62828"
STAGE_COLORS = {"production": "#2e7d32", "staging": "#ef6c00", "archived": "#9e9e9e",
                "none": "#1976d2", None: "#1976d2"}


def text(value: Any, limit: int = 80) -> str:
    """A value as short plain text (not yet escaped)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    shown = str(value)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"


def cell(value: Any, limit: int = 80, tag: str = "td", style: str = TD) -> str:
    """One table cell; the full value is the tooltip when it had to be shortened."""
    short = text(value, limit)
    full = "" if value is None else str(value)
    title = f' title="{escape(full)}"' if len(full) > limit else ""
    return f'<{tag} style="{style}"{title}>{escape(short)}</{tag}>'


def table(header: list[str], rows: list[tuple[list[str], bool]], style: str = TABLE) -> str:
    """`rows` are (cells already rendered as <td>, highlighted?)."""
    head = "".join(f'<th style="{TH}">{escape(h)}</th>' for h in header)
    body = "".join(f'<tr style="{CHANGED if changed else ""}">{"".join(cells)}</tr>'
                   for cells, changed in rows)
    return f'<table style="{style}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def pairs_table(pairs: list[tuple[str, Any]], limit: int = 200) -> str:
    """A two-column name/value table."""
    return table(["", ""], [([cell(k), cell(v, limit)], False) for k, v in pairs])


def section(title: str, body: str, open_: bool = True) -> str:
    """A collapsible block (<details>), open unless told otherwise."""
    return (f'<details{" open" if open_ else ""} style="margin: 4px 0">'
            f'<summary style="font-weight: 600; cursor: pointer">{escape(title)}</summary>'
            f'{body}</details>')


def note(message: str) -> str:
    """A dimmed one-line remark."""
    return f'<div style="opacity: 0.7; margin: 2px 0">{escape(message)}</div>'


def short_time(iso: str | None) -> str:
    """`2026-11-30T11:05:09.123+00:00` as `2026-11-30 11:05`: one line in a grid cell."""
    return (iso or "")[:16].replace("T", " ")

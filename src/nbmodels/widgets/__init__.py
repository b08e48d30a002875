"""The in-notebook views: the `%compare` view and the `%models` browser (ipywidgets 8).

Both take what they show through their constructor (a `Comparison`; a `Registry` and the
namespace to restore into), so tests build them in a plain Python process and click their
buttons (or set the grid's traits). Each also leaves a static HTML and text output in the
notebook file, so a saved or exported notebook still shows what was on screen.

    browser   ModelsBrowser: the models grid, the versions grid, details and actions, and
              a Runs tab
    runs      RunsView: the runs grid (paged by the registry), a run's details, register
    grid      Grid: the anywidget table (sort, checkboxes or one focused row, pages,
              search); grid.js, grid.css
    columns   the grids' model and version columns, model labels, search text
    details   a version's and a run's details, champion/challenger, a reproduction's
              report (HTML)
    compare   CompareView: tabs over a Comparison
    status    the status line (messages, the user's mistakes) the views share

The static HTML of a comparison and its charts live below, in `nbmodels.comparison.html`
and `.charts` (the engine's `_repr_html_` uses them). Names are imported on first use, so
`import nbmodels.widgets` loads neither ipywidgets nor anywidget.
"""

from __future__ import annotations

import importlib

_WHERE = {"ModelsBrowser": ".browser", "Grid": ".grid", "Column": ".grid",
          "RunsView": ".runs", "run_details_html": ".details",
          "CompareView": ".compare", "version_details_html": ".details",
          "champion_html": ".details", "reproduce_html": ".details",
          "comparison_html": "..comparison.html", "charts_html": "..comparison.charts",
          "metric_chart_svg": "..comparison.charts"}

__all__ = ["Column", "CompareView", "Grid", "ModelsBrowser", "RunsView", "champion_html",
           "charts_html", "comparison_html", "metric_chart_svg", "reproduce_html",
           "run_details_html", "version_details_html"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)

"""A `Comparison` as static HTML: what `Comparison._repr_html_`, the `%compare` view's tabs
and a saved notebook show. No ipywidgets: the pieces come from `nbmodels.htmlparts`, the
charts from `.charts`. Every user string is escaped.
"""

from __future__ import annotations

import math
from html import escape

from ..htmlparts import (
    BAD,
    FONT,
    GOOD,
    MONO,
    TABLE,
    TD,
    TH,
    cell,
    note,
    section,
    table,
    text,
)
from .charts import charts_html

__all__ = ["comparison_html", "header_html", "metrics_tab_html", "param_rows", "code_html",
           "data_html", "env_html", "model_html", "TITLES"]

TITLES = ("Metrics", "Params", "Code", "Data", "Environment", "Model")


def _mark(change: str, delta: float | None) -> str:
    if not change or delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return ""
    if change == "same":
        return ' <span style="opacity: 0.6">= same</span>'
    color, arrow = (GOOD, "▲") if change == "better" else (BAD, "▼")
    return (f' <span style="color: {color}" title="{escape(change)}">{arrow} {delta:+.4g} '
            f'{escape(change)}</span>')


def _index_cells(key) -> list[str]:
    return [cell(k) for k in (key if isinstance(key, tuple) else (key,))]


# ---- static comparison HTML ---------------------------------------------------------------

def _metrics_table(frame, labels: list[str]) -> str:
    if frame is None or not len(frame):
        return note("No metrics recorded.")
    rows = []
    for key, row in frame.iterrows():
        cells = [cell(key)]
        changed = False
        for i, label in enumerate(labels):
            value = row[label]
            mark = ""
            if i:
                change = row[f"change {label}"]
                mark = _mark(change, row[f"delta {label}"])
                changed = changed or change in ("better", "worse")
            cells.append(f'<td style="{TD}">{escape(text(value))}{mark}</td>')
        direction = "lower is better" if row["lower_is_better"] else "higher is better"
        cells.append(f'<td style="{TD}; opacity: 0.7">{escape(direction)}</td>')
        cells.append(cell(row["best"] or None))
        rows.append((cells, changed))
    return table(["metric", *labels, "direction", "best"], rows)


def param_rows(frame, labels: list[str]) -> str:
    """Params side by side, the changed ones highlighted."""
    rows = [([cell(k), *(cell(r[label]) for label in labels)], bool(r["changed"]))
            for k, r in frame.iterrows()]
    return table(["param", *labels], rows)


def _params_table(frame, labels: list[str]) -> str:
    if not len(frame):
        return note("No params recorded.")
    changed = frame[frame["changed"]]
    same = frame[~frame["changed"]]
    html = param_rows(changed, labels) if len(changed) else note("No param changed.")
    if len(same):
        html += section(f"{len(same)} unchanged", param_rows(same, labels), open_=False)
    return html


def _diff_html(unified: str) -> str:
    lines = []
    for line in unified.splitlines():
        style = ""
        if line.startswith(("+++", "---")):
            style = "font-weight: 600"
        elif line.startswith("+"):
            style = "background: rgba(46, 125, 50, 0.18)"
        elif line.startswith("-"):
            style = "background: rgba(198, 40, 40, 0.18)"
        elif line.startswith("@@"):
            style = "opacity: 0.6"
        lines.append(f'<div style="{style}">{escape(line) or "&nbsp;"}</div>')
    return f'<div style="{MONO}; white-space: pre; overflow-x: auto">{"".join(lines)}</div>'


def _side_by_side_html(diff) -> str:
    colors = {"replace": "rgba(255, 193, 7, 0.18)", "delete": "rgba(198, 40, 40, 0.18)",
              "insert": "rgba(46, 125, 50, 0.18)", "equal": ""}
    td = f"{MONO}; white-space: pre; padding: 0 6px; vertical-align: top"
    rows = []
    for tag, a_no, a, b_no, b in diff.rows:
        bg = colors[tag]
        rows.append(
            f'<tr style="background: {bg}">'
            f'<td style="{td}; opacity: 0.5">{a_no or ""}</td><td style="{td}">{escape(a or "")}</td>'
            f'<td style="{td}; opacity: 0.5">{b_no or ""}</td><td style="{td}">{escape(b or "")}</td>'
            "</tr>")
    head = (f'<tr><th></th><th style="{TH}">{escape(diff.a)}</th><th></th>'
            f'<th style="{TH}">{escape(diff.b)}</th></tr>')
    return f'<table style="{TABLE}">{head}{"".join(rows)}</table>'


def code_html(comparison, side_by_side: bool = False) -> str:
    diffs = comparison.code_diffs
    if not diffs:
        return note("No cell code recorded for these REFs (a version registered without a run).")
    parts = []
    for diff in diffs:
        if not diff.changed:
            parts.append(note(f"{diff.a} → {diff.b}: same code"))
        elif side_by_side:
            parts.append(_side_by_side_html(diff))
        else:
            parts.append(_diff_html(diff.unified))
    return "".join(parts)


def _frame_html(frame, labels: list[str], flag: str | None = None, limit: int = 200,
                extra: tuple[str, ...] = ()) -> str:
    names = [n or "" for n in frame.index.names]
    rows = []
    for key, row in frame.head(limit).iterrows():
        highlight = bool(row[flag]) if flag and flag in row else False
        cells = _index_cells(key) + [cell(row[label]) for label in labels] + \
            [cell(row[c]) for c in extra]
        rows.append((cells, highlight))
    html = table([*names, *labels, *extra], rows)
    if len(frame) > limit:
        html += note(f"… {len(frame) - limit} more rows (see the DataFrame)")
    return html


def data_html(comparison) -> str:
    labels = comparison.labels
    schema = comparison.data[comparison.data["change"] != ""]
    if not len(comparison.inputs):
        return note("No input data recorded.")
    parts = []
    if len(schema):
        parts.append(section(f"Schema: {len(schema)} column change(s)",
                              _frame_html(schema, labels, flag="change", extra=("change",))))
    else:
        parts.append(note("Same columns and dtypes."))
    parts.append(section("Inputs (fingerprint, type, shape)",
                          _frame_html(comparison.inputs, labels, flag="changed")))
    stats = comparison.data_stats
    changed = stats[stats["changed"]]
    title = f"Statistics: {len(changed)} of {len(stats)} changed"
    parts.append(section(title, _frame_html(changed, labels, flag="changed") if len(changed)
                          else note("Same statistics."), open_=bool(len(changed))))
    return "".join(parts)


def env_html(comparison) -> str:
    if not any(t.packages is not None for t in comparison.targets):
        return note("No environment recorded.")
    if not len(comparison.env):
        return note("Same package versions.")
    return _frame_html(comparison.env, comparison.labels)


def model_html(comparison, importance: bool) -> str:
    html = _frame_html(comparison.models, comparison.labels, flag="changed")
    if importance:
        frame = comparison.importance
        if len(frame):
            top = frame.head(15)
            html += section(f"Feature importance: {len(top)} that changed most of {len(frame)}",
                             _frame_html(top, comparison.labels, extra=("change",)))
        else:
            html += note("The models expose no feature_importances_ or coef_.")
    return html


def header_html(comparison) -> str:
    info = comparison.summary()
    what = f"all {len(comparison.labels)} versions of {comparison.model}" if comparison.model \
        else " ↔ ".join(comparison.labels)
    line = (f"{info['params_changed']} of {info['params']} params changed · "
            f"{info['better']} metric(s) better, {info['worse']} worse · code "
            f"{'changed' if info['code_changed'] else 'same'} · {info['data_changes']} data "
            f"schema change(s) · {info['packages_changed']} package(s) differ")
    warn = "".join(f'<div style="color: {BAD}">{escape(w)}</div>' for w in comparison.warnings)
    return f'<div><b>Comparing</b> {escape(what)}</div><div style="opacity: 0.8">{escape(line)}</div>{warn}'


def metrics_tab_html(comparison, chart: bool | None = None) -> str:
    html = _metrics_table(comparison.metrics, comparison.labels)
    if comparison.scores is not None:
        html += section("Scores on the given data (champion/challenger)",
                         _metrics_table(comparison.scores, comparison.labels))
    if comparison.wants_chart if chart is None else chart:
        html += charts_html(comparison)
    return html


def comparison_html(comparison, chart: bool | None = None) -> str:
    """The whole comparison as one static HTML block (what a saved notebook shows)."""
    importance = "importance" in comparison.__dict__  # only if already loaded: no side effects
    sections = [
        section("Metrics", metrics_tab_html(comparison, chart)),
        section(f"Params ({int(comparison.params['changed'].sum())} changed)",
                 _params_table(comparison.params, comparison.labels)),
        section("Code", code_html(comparison)),
        section("Data", data_html(comparison), open_=False),
        section("Environment", env_html(comparison), open_=False),
        section("Model", model_html(comparison, importance), open_=False),
    ]
    return (f'<div class="nbmodels-compare" style="{FONT}">{header_html(comparison)}'
            f'{"".join(sections)}</div>')


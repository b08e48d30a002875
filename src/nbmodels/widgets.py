"""The in-notebook views: the `%compare` view and the `%models` browser (ipywidgets 8).

Both take what they show through their constructor (a `Comparison`; a `Registry` and the
namespace to restore into), so tests build them in a plain Python process and click their
buttons. Each also leaves a static HTML and text output in the notebook file, so a saved or
exported notebook still shows what was on screen without a kernel.

The HTML functions at the top do not need ipywidgets; the widget classes import it when
built. Every user string (names, notes, tags, params, code) goes through `html.escape`.
"""

from __future__ import annotations

import base64
import math
import warnings
from html import escape
from typing import Any

from . import render
from .comparison import as_number

__all__ = ["CompareView", "ModelsBrowser", "comparison_html", "metric_chart_svg"]

_FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px"
_MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 12px"
_CHANGED = "background: rgba(255, 193, 7, 0.18)"
_TABLE = "border-collapse: collapse; margin: 4px 0"
_TD = "padding: 2px 8px; border-bottom: 1px solid rgba(128, 128, 128, 0.25); text-align: left; " \
      "vertical-align: top"
_TH = _TD + "; font-weight: 600"
_GOOD, _BAD = "#2e7d32", "#c62828"
STAGE_COLORS = {"production": "#2e7d32", "staging": "#ef6c00", "archived": "#9e9e9e",
                "none": "#1976d2", None: "#1976d2"}
_TITLES = ("Metrics", "Params", "Code", "Data", "Environment", "Model")


# ---- formatting -----------------------------------------------------------------------------

def _text(value: Any, limit: int = 80) -> str:
    """A value as short plain text (not yet escaped)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _cell(value: Any, limit: int = 80, tag: str = "td", style: str = _TD) -> str:
    text = _text(value, limit)
    full = "" if value is None else str(value)
    title = f' title="{escape(full)}"' if len(full) > limit else ""
    return f'<{tag} style="{style}"{title}>{escape(text)}</{tag}>'


def _table(header: list[str], rows: list[tuple[list[str], bool]]) -> str:
    """`rows` are (cells already rendered as <td>, highlighted?)."""
    head = "".join(f'<th style="{_TH}">{escape(h)}</th>' for h in header)
    body = "".join(f'<tr style="{_CHANGED if changed else ""}">{"".join(cells)}</tr>'
                   for cells, changed in rows)
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(title: str, body: str, open_: bool = True) -> str:
    return (f'<details{" open" if open_ else ""} style="margin: 4px 0">'
            f'<summary style="font-weight: 600; cursor: pointer">{escape(title)}</summary>'
            f'{body}</details>')


def _note(text: str) -> str:
    return f'<div style="opacity: 0.7; margin: 2px 0">{escape(text)}</div>'


def _mark(change: str, delta: float | None) -> str:
    if not change or delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return ""
    if change == "same":
        return ' <span style="opacity: 0.6">= same</span>'
    color, arrow = (_GOOD, "▲") if change == "better" else (_BAD, "▼")
    return (f' <span style="color: {color}" title="{escape(change)}">{arrow} {delta:+.4g} '
            f'{escape(change)}</span>')


def _index_cells(key) -> list[str]:
    return [_cell(k) for k in (key if isinstance(key, tuple) else (key,))]


# ---- static comparison HTML ---------------------------------------------------------------

def _metrics_table(frame, labels: list[str]) -> str:
    if frame is None or not len(frame):
        return _note("No metrics recorded.")
    rows = []
    for key, row in frame.iterrows():
        cells = [_cell(key)]
        changed = False
        for i, label in enumerate(labels):
            value = row[label]
            mark = ""
            if i:
                change = row[f"change {label}"]
                mark = _mark(change, row[f"delta {label}"])
                changed = changed or change in ("better", "worse")
            cells.append(f'<td style="{_TD}">{escape(_text(value))}{mark}</td>')
        direction = "lower is better" if row["lower_is_better"] else "higher is better"
        cells.append(f'<td style="{_TD}; opacity: 0.7">{escape(direction)}</td>')
        cells.append(_cell(row["best"] or None))
        rows.append((cells, changed))
    return _table(["metric", *labels, "direction", "best"], rows)


def _param_rows(frame, labels: list[str]) -> str:
    """Params side by side, the changed ones highlighted."""
    rows = [([_cell(k), *(_cell(r[label]) for label in labels)], bool(r["changed"]))
            for k, r in frame.iterrows()]
    return _table(["param", *labels], rows)


def _params_table(frame, labels: list[str]) -> str:
    if not len(frame):
        return _note("No params recorded.")
    changed = frame[frame["changed"]]
    same = frame[~frame["changed"]]
    html = _param_rows(changed, labels) if len(changed) else _note("No param changed.")
    if len(same):
        html += _section(f"{len(same)} unchanged", _param_rows(same, labels), open_=False)
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
    return f'<div style="{_MONO}; white-space: pre; overflow-x: auto">{"".join(lines)}</div>'


def _side_by_side_html(diff) -> str:
    colors = {"replace": "rgba(255, 193, 7, 0.18)", "delete": "rgba(198, 40, 40, 0.18)",
              "insert": "rgba(46, 125, 50, 0.18)", "equal": ""}
    td = f"{_MONO}; white-space: pre; padding: 0 6px; vertical-align: top"
    rows = []
    for tag, a_no, a, b_no, b in diff.rows:
        bg = colors[tag]
        rows.append(
            f'<tr style="background: {bg}">'
            f'<td style="{td}; opacity: 0.5">{a_no or ""}</td><td style="{td}">{escape(a or "")}</td>'
            f'<td style="{td}; opacity: 0.5">{b_no or ""}</td><td style="{td}">{escape(b or "")}</td>'
            "</tr>")
    head = (f'<tr><th></th><th style="{_TH}">{escape(diff.a)}</th><th></th>'
            f'<th style="{_TH}">{escape(diff.b)}</th></tr>')
    return f'<table style="{_TABLE}">{head}{"".join(rows)}</table>'


def _code_html(comparison, side_by_side: bool = False) -> str:
    diffs = comparison.code_diffs
    if not diffs:
        return _note("No cell code recorded for these REFs (a version registered without a run).")
    parts = []
    for diff in diffs:
        if not diff.changed:
            parts.append(_note(f"{diff.a} → {diff.b}: same code"))
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
        cells = _index_cells(key) + [_cell(row[label]) for label in labels] + \
            [_cell(row[c]) for c in extra]
        rows.append((cells, highlight))
    html = _table([*names, *labels, *extra], rows)
    if len(frame) > limit:
        html += _note(f"… {len(frame) - limit} more rows (see the DataFrame)")
    return html


def _data_html(comparison) -> str:
    labels = comparison.labels
    schema = comparison.data[comparison.data["change"] != ""]
    if not len(comparison.inputs):
        return _note("No input data recorded.")
    parts = []
    if len(schema):
        parts.append(_section(f"Schema: {len(schema)} column change(s)",
                              _frame_html(schema, labels, flag="change", extra=("change",))))
    else:
        parts.append(_note("Same columns and dtypes."))
    parts.append(_section("Inputs (fingerprint, type, shape)",
                          _frame_html(comparison.inputs, labels, flag="changed")))
    stats = comparison.data_stats
    changed = stats[stats["changed"]]
    title = f"Statistics: {len(changed)} of {len(stats)} changed"
    parts.append(_section(title, _frame_html(changed, labels, flag="changed") if len(changed)
                          else _note("Same statistics."), open_=bool(len(changed))))
    return "".join(parts)


def _env_html(comparison) -> str:
    if not any(t.packages is not None for t in comparison.targets):
        return _note("No environment recorded.")
    if not len(comparison.env):
        return _note("Same package versions.")
    return _frame_html(comparison.env, comparison.labels)


def _model_html(comparison, importance: bool) -> str:
    html = _frame_html(comparison.models, comparison.labels, flag="changed")
    if importance:
        frame = comparison.importance
        if len(frame):
            top = frame.head(15)
            html += _section(f"Feature importance: {len(top)} that changed most of {len(frame)}",
                             _frame_html(top, comparison.labels, extra=("change",)))
        else:
            html += _note("The models expose no feature_importances_ or coef_.")
    return html


def _header_html(comparison) -> str:
    info = comparison.summary()
    what = f"all {len(comparison.labels)} versions of {comparison.model}" if comparison.model \
        else " ↔ ".join(comparison.labels)
    line = (f"{info['params_changed']} of {info['params']} params changed · "
            f"{info['better']} metric(s) better, {info['worse']} worse · code "
            f"{'changed' if info['code_changed'] else 'same'} · {info['data_changes']} data "
            f"schema change(s) · {info['packages_changed']} package(s) differ")
    warn = "".join(f'<div style="color: {_BAD}">{escape(w)}</div>' for w in comparison.warnings)
    return f'<div><b>Comparing</b> {escape(what)}</div><div style="opacity: 0.8">{escape(line)}</div>{warn}'


def _metrics_tab_html(comparison, chart: bool | None = None) -> str:
    html = _metrics_table(comparison.metrics, comparison.labels)
    if comparison.scores is not None:
        html += _section("Scores on the given data (champion/challenger)",
                         _metrics_table(comparison.scores, comparison.labels))
    if comparison.wants_chart if chart is None else chart:
        html += charts_html(comparison)
    return html


def comparison_html(comparison, chart: bool | None = None) -> str:
    """The whole comparison as one static HTML block (what a saved notebook shows)."""
    importance = "importance" in comparison.__dict__  # only if already loaded: no side effects
    sections = [
        _section("Metrics", _metrics_tab_html(comparison, chart)),
        _section(f"Params ({int(comparison.params['changed'].sum())} changed)",
                 _params_table(comparison.params, comparison.labels)),
        _section("Code", _code_html(comparison)),
        _section("Data", _data_html(comparison), open_=False),
        _section("Environment", _env_html(comparison), open_=False),
        _section("Model", _model_html(comparison, importance), open_=False),
    ]
    return (f'<div class="nbmodels-compare" style="{_FONT}">{_header_html(comparison)}'
            f'{"".join(sections)}</div>')


# ---- charts (inline SVG, no plotting library) ---------------------------------------------

def metric_chart_svg(metric: str, points: list[tuple[str, float | None, str | None]],
                     lower_is_better: bool = False, width: int = 320, height: int = 190) -> str:
    """An SVG line chart of one metric across versions: `points` are (x label, value, stage),
    each point colored by its stage. Empty string when no value is numeric."""
    present = [(i, v) for i, (_, v, _) in enumerate(points)
               if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        return ""
    left, right, top, bottom = 52, 14, 24, 48
    low, high = min(v for _, v in present), max(v for _, v in present)
    pad = (high - low) * 0.08 or abs(low) * 0.05 or 1.0  # points off the axes
    low, high = low - pad, high + pad
    n = len(points)

    def x(i):
        inner = width - left - right - 24  # 12px inside each end of the axis
        return left + 12 + inner * (0.5 if n == 1 else i / (n - 1))

    def y(v):
        return top + (height - top - bottom) * (1 - (v - low) / (high - low))

    arrow = "↓ lower is better" if lower_is_better else "↑ higher is better"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
           f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(metric)} '
           f'<tspan font-weight="normal" fill="#777">{escape(arrow)}</tspan></text>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#999"/>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
           f'y2="{height - bottom}" stroke="#999"/>']
    for value in (low, (low + high) / 2, high):
        out.append(f'<text x="{left - 4}" y="{y(value) + 3:.1f}" text-anchor="end" '
                   f'fill="#555">{escape(f"{value:.4g}")}</text>')
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in present)
    out.append(f'<polyline points="{line}" fill="none" stroke="#1976d2" stroke-width="1.5"/>')
    step = max(1, math.ceil(n / 10))
    for i, (label, value, stage) in enumerate(points):
        if i % step == 0 or i == n - 1:
            short = label.split("@", 1)[-1]
            out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 12}" text-anchor="end" '
                       f'transform="rotate(-35 {x(i):.1f} {height - bottom + 12})" '
                       f'fill="#555">{escape(short[:16])}</text>')
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        color = STAGE_COLORS.get(stage, STAGE_COLORS[None])
        radius = 5 if stage == "production" else 3.5
        tip = f"{label} · {stage or 'run'} · {value:.6g}"
        out.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="{radius}" fill="{color}" '
                   f'stroke="white" stroke-width="1"><title>{escape(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _svg_img(svg: str, alt: str) -> str:
    """An SVG as an <img> data URI: kept by the HTML sanitizers of untrusted notebooks."""
    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}" style="margin: 2px">'


def charts_html(comparison) -> str:
    """One chart per metric across the compared versions, and the stage legend."""
    frame = comparison.metrics
    stages = [t.stage for t in comparison.targets]
    images = []
    for metric, row in frame.iterrows():
        points = [(label, row[label], stage) for label, stage in zip(comparison.labels, stages)]
        svg = metric_chart_svg(str(metric), points, bool(row["lower_is_better"]))
        if svg:
            images.append(_svg_img(svg, f"{metric} across versions"))
    if not images:
        return ""
    legend = " ".join(f'<span style="color: {STAGE_COLORS[s]}">●</span> {escape(s)}'
                      for s in ("production", "staging", "archived", "none"))
    return (f'<div style="display: flex; flex-wrap: wrap">{"".join(images)}</div>'
            f'<div style="opacity: 0.8">{legend}</div>')


# ---- the %compare view --------------------------------------------------------------------------

class CompareView:
    """Tabs Metrics, Params, Code, Data, Environment, Model over a `Comparison`.

    `widget` is the ipywidgets tree; displaying the view also leaves the static HTML and
    text of the comparison in the notebook."""

    def __init__(self, comparison, chart: bool | None = None):
        import ipywidgets as w

        self.comparison = comparison
        self.chart = chart
        self.header = w.HTML(_header_html(comparison))
        self.metrics_html = w.HTML(_metrics_tab_html(comparison, chart))
        self.only_changed = w.Checkbox(value=True, description="only changed params",
                                       indent=False)
        self.params_html = w.HTML()
        self.code_mode = w.ToggleButtons(options=["unified", "side by side"], value="unified")
        self.code_html = w.HTML()
        self.data_html = w.HTML(_data_html(comparison))
        self.env_html = w.HTML(_env_html(comparison))
        self.model_html = w.HTML(_model_html(comparison, importance=False))
        self.tabs = w.Tab(children=[
            self.metrics_html, w.VBox([self.only_changed, self.params_html]),
            w.VBox([self.code_mode, self.code_html]), self.data_html, self.env_html,
            self.model_html])
        self.tabs.titles = _TITLES
        self.only_changed.observe(self._show_params, "value")
        self.code_mode.observe(self._show_code, "value")
        self.tabs.observe(self._on_tab, "selected_index")
        self._show_params()
        self._show_code()
        self.widget = w.VBox([self.header, self.tabs])

    def _show_params(self, _change=None) -> None:
        frame = self.comparison.params
        if self.only_changed.value:
            frame = frame[frame["changed"]]
            if not len(frame):
                self.params_html.value = _note("No param changed.")
                return
        self.params_html.value = _param_rows(frame, self.comparison.labels)

    def _show_code(self, _change=None) -> None:
        self.code_html.value = _code_html(self.comparison,
                                          side_by_side=self.code_mode.value == "side by side")

    def _on_tab(self, change) -> None:
        if change["new"] == _TITLES.index("Model"):
            self.show_importance()

    def show_importance(self) -> None:
        """Load the models (first time only) and add their feature importance to the tab."""
        self.model_html.value = _model_html(self.comparison, importance=True)
        self.header.value = _header_html(self.comparison)  # loading may have added warnings

    def html(self) -> str:
        return comparison_html(self.comparison, self.chart)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = self.comparison.to_text()
        return bundle


# ---- the %models browser --------------------------------------------------------------------

class ModelsBrowser:
    """Browse a registry: search, models, a paged and sortable version table, version
    details, compare selected versions, restore a version into `namespace`, change a stage.

    Only one page of models and one page of versions (`page_size`) is ever rendered, so a
    registry with thousands of versions opens at once.
    """

    def __init__(self, registry, namespace: dict | None = None, name: str | None = None,
                 page_size: int = 50):
        import ipywidgets as w

        from .records import STAGES

        self.registry = registry
        self.namespace = namespace if namespace is not None else {}
        self.page_size = max(1, int(page_size))
        self.selected: list[str] = []  # selected version refs, in the order they were picked
        self.focused: str | None = None  # the version details, Restore and Stage act on
        self.compare_view: CompareView | None = None
        self.model_page = 0
        self.page = 0
        self._summaries = None
        self._updating = False
        self._versions: dict[str, list] = {}
        self._search_index: dict[str, str] | None = None
        self._matching_versions: set[str] | None = None

        self.title = w.HTML()
        self.search = w.Text(placeholder="Search names, tags, notes", continuous_update=True,
                             layout=w.Layout(width="320px"))
        self.models_list = w.Select(options=[], rows=8, layout=w.Layout(width="100%"))
        self.models_table = w.HTML()
        self.model_prev = w.Button(description="◀", tooltip="previous models",
                                   layout=w.Layout(width="40px"))
        self.model_next = w.Button(description="▶", tooltip="next models",
                                   layout=w.Layout(width="40px"))
        self.model_page_label = w.Label()
        self.sort_by = w.Dropdown(description="sort by", options=["version"], value="version")
        self.descending = w.Checkbox(value=True, description="descending", indent=False)
        self.prev_button = w.Button(description="◀ prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="next ▶", layout=w.Layout(width="80px"))
        self.page_label = w.Label()
        self.versions_table = w.HTML()
        self.versions = w.SelectMultiple(options=[], rows=10, layout=w.Layout(width="100%"),
                                         description="")
        self.selection_label = w.HTML()
        self.clear_button = w.Button(description="Clear selection")
        self.compare_button = w.Button(description="Compare", icon="columns", disabled=True,
                                       button_style="primary")
        self.details = w.HTML(layout=w.Layout(max_height="420px", overflow="auto"))
        self.restore_as = w.Text(placeholder="as variable (optional)",
                                 layout=w.Layout(width="180px"))
        self.restore_button = w.Button(description="Restore", icon="download", disabled=True)
        self.stage_select = w.Dropdown(options=list(STAGES), value="staging",
                                       layout=w.Layout(width="120px"))
        self.stage_note = w.Text(placeholder="note (kept in the audit trail)",
                                 layout=w.Layout(width="260px"))
        self.stage_button = w.Button(description="Stage…", disabled=True)
        self.card_button = w.Button(description="Card", icon="id-card", disabled=True,
                                    tooltip="The model card of this version (print it to file)")
        self.status = w.HTML()
        self.compare_area = w.VBox()

        self.search.observe(self._on_search, "value")
        self.models_list.observe(self._on_model, "value")
        self.model_prev.on_click(lambda _: self._turn_models(-1))
        self.model_next.on_click(lambda _: self._turn_models(1))
        self.sort_by.observe(self._on_sort, "value")
        self.descending.observe(self._on_sort, "value")
        self.prev_button.on_click(lambda _: self._turn(-1))
        self.next_button.on_click(lambda _: self._turn(1))
        self.versions.observe(self._on_select, "value")
        self.clear_button.on_click(self._clear)
        self.compare_button.on_click(self._compare)
        self.restore_button.on_click(self._restore)
        self.stage_button.on_click(self._stage)
        self.card_button.on_click(self._card)

        # models_table is the static snapshot's list; live, the Select above shows the same
        left = w.VBox([self.search, self.models_list,
                       w.HBox([self.model_prev, self.model_page_label, self.model_next])],
                      layout=w.Layout(width="36%"))
        right = w.VBox([
            w.HBox([self.sort_by, self.descending]), self.versions_table,
            w.HBox([self.prev_button, self.page_label, self.next_button]),
            self.versions, w.HBox([self.compare_button, self.clear_button]),
            self.selection_label],
            layout=w.Layout(width="64%"))
        actions = w.HBox([self.restore_button, self.restore_as, self.stage_select,
                          self.stage_note, self.stage_button, self.card_button])
        self.widget = w.VBox([self.title, w.HBox([left, right]), actions, self.status,
                              self.details, self.compare_area])
        self.widget.add_class("nbmodels-browser")
        self.refresh(select=name)

    # ---- data --------------------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """Re-read models (and the shown model's versions) from the registry."""
        self._summaries = self.registry.list_models()
        self._versions.clear()
        self._search_index = None
        current = select or self.models_list.value
        self._show_models(keep=current)

    def model_versions(self, name: str) -> list:
        if name not in self._versions:
            self._versions[name] = self.registry.list_versions(name)
        return self._versions[name]

    def _index(self) -> dict[str, str]:
        """Model name -> searchable text: name, description, version notes and tags (built on
        the first search, not when the browser opens)."""
        if self._search_index is None:
            index = {}
            for summary in self._summaries:
                words = [summary.name, summary.description or ""]
                for v in self.model_versions(summary.name):
                    words.append(v.note or "")
                    words += [f"{k}={val}" for k, val in v.tags.items()]
                index[summary.name] = "\n".join(words).lower()
            self._search_index = index
        return self._search_index

    def matching_models(self) -> list:
        query = self.search.value.strip().lower()
        if not query:
            return list(self._summaries)
        index = self._index()
        return [s for s in self._summaries if all(word in index[s.name] for word in query.split())]

    # ---- models list ----------------------------------------------------------------------------

    def _show_models(self, keep: str | None = None) -> None:
        models = self.matching_models()
        pages = max(1, math.ceil(len(models) / self.page_size))
        if keep is not None:
            position = next((i for i, s in enumerate(models) if s.name == keep), None)
            if position is not None:
                self.model_page = position // self.page_size
        self.model_page = min(self.model_page, pages - 1)
        shown = models[self.model_page * self.page_size:(self.model_page + 1) * self.page_size]
        total = len(self._summaries)
        self.title.value = (
            f'<div style="{_FONT}"><b>nbmodels</b> · {total} model(s) · '
            f'<span style="opacity: 0.7">{escape(str(self.registry.home))}</span></div>')
        self.model_page_label.value = (f"{len(models)} of {total} models · page "
                                       f"{self.model_page + 1}/{pages}")
        self.model_prev.disabled = self.model_page == 0
        self.model_next.disabled = self.model_page >= pages - 1
        self.models_table.value = _models_table(shown)
        options = [(_model_label(s), s.name) for s in shown]
        names = [s.name for s in shown]
        value = keep if keep in names else (names[0] if names else None)
        self._updating = True
        try:
            self.models_list.options = options
            self.models_list.value = value
        finally:
            self._updating = False
        if not self._summaries:
            self.models_table.value = _note("No models registered yet: train a model in a "
                                            "%%track cell, then %register it.")
            self.status.value = self.models_table.value
        self._show_versions()

    def _turn_models(self, step: int) -> None:
        self.model_page = max(0, self.model_page + step)
        self._show_models()

    def _on_search(self, _change) -> None:
        self.model_page = 0
        query = self.search.value.strip().lower()
        self._matching_versions = None
        if query:
            self._matching_versions = {
                v.ref for s in self.matching_models() if query not in s.name.lower()
                for v in self.model_versions(s.name)
                if all(word in _version_text(v) for word in query.split())}
        self._show_models(keep=self.models_list.value)

    def _on_model(self, _change) -> None:
        if self._updating:
            return
        self.page = 0
        self._show_versions()

    # ---- versions ------------------------------------------------------------------------------

    def current_versions(self) -> list:
        """The shown model's versions, filtered by the search and sorted as asked."""
        name = self.models_list.value
        if name is None:
            return []
        versions = self.model_versions(name)
        if self._matching_versions is not None and \
                self.search.value.strip().lower() not in name.lower():
            matching = [v for v in versions if v.ref in self._matching_versions]
            versions = matching or versions
        key = self.sort_by.value
        if key == "version":
            ordered = list(versions)
            return ordered[::-1] if self.descending.value else ordered
        if key in ("created_at", "stage"):
            return sorted(versions, key=lambda v: getattr(v, key) or "",
                          reverse=self.descending.value)
        present = [v for v in versions if _number(v.metrics.get(key)) is not None]
        missing = [v for v in versions if _number(v.metrics.get(key)) is None]
        present.sort(key=lambda v: _number(v.metrics.get(key)), reverse=self.descending.value)
        return present + missing

    def _show_versions(self) -> None:
        self._updating = True  # our own changes to the widgets below are not user input
        try:
            self._render_versions()
        finally:
            self._updating = False
        self._show_selection()

    def _render_versions(self) -> None:
        name = self.models_list.value
        metric_names = _metric_names(self.model_versions(name)) if name is not None else []
        options = ["version", "created_at", "stage", *metric_names]
        current = self.sort_by.value
        if list(self.sort_by.options) != options:
            self.sort_by.options = options
        self.sort_by.value = current if current in options else "version"
        versions = self.current_versions()
        pages = max(1, math.ceil(len(versions) / self.page_size))
        self.page = min(max(self.page, 0), pages - 1)
        shown = versions[self.page * self.page_size:(self.page + 1) * self.page_size]
        self.page_label.value = f"{len(versions)} version(s) · page {self.page + 1}/{pages}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1
        self.versions_table.value = _versions_table(shown, metric_names[:6], self.sort_by.value) \
            if shown else ""
        refs = [v.ref for v in shown]
        self.versions.options = [(_version_label(v, metric_names), v.ref) for v in shown]
        self.versions.value = tuple(r for r in refs if r in self.selected)

    def _on_sort(self, _change) -> None:
        if self._updating:
            return
        self.page = 0
        self._show_versions()

    def _turn(self, step: int) -> None:
        self.page += step
        self._show_versions()

    # ---- selection, details ----------------------------------------------------------------------

    def _on_select(self, change) -> None:
        if self._updating:
            return
        on_page = {ref for _, ref in self.versions.options}
        new = [r for r in change["new"] if r not in self.selected]
        self.selected = [r for r in self.selected if r not in on_page or r in change["new"]] + new
        if new:
            self.focused = new[-1]
        elif self.focused not in self.selected:
            self.focused = self.selected[-1] if self.selected else None
        self._show_selection()
        self._show_details()

    def select(self, *refs: str) -> None:
        """Select versions by REF (what clicking them in the list does)."""
        for ref in refs:
            if ref not in self.selected:
                self.selected.append(ref)
        if refs:
            self.focused = refs[-1]
        self._show_versions()
        self._show_details()

    def _clear(self, _button=None) -> None:
        self.selected, self.focused = [], None
        self._show_versions()
        self._show_details()

    def _show_selection(self) -> None:
        count = len(self.selected)
        self.compare_button.disabled = count < 2
        self.restore_button.disabled = self.stage_button.disabled = self.focused is None
        self.card_button.disabled = self.focused is None
        if count:
            self.selection_label.value = (
                f'<div style="{_FONT}">Selected ({count}): '
                f'{escape(", ".join(self.selected))}'
                f'{"" if count > 1 else " · select another version to compare"}</div>')
        else:
            self.selection_label.value = _note("Select versions (ctrl/shift-click) for details; "
                                               "two or more to compare.")

    def _show_details(self) -> None:
        if self.focused is None:
            self.details.value = ""
            return
        try:
            detail = self.registry.version_detail(self.focused)
        except Exception as exc:  # noqa: BLE001 - shown, not raised, in a click handler
            self._say(str(exc), error=True)
            return
        lineage = self.registry.lineage(detail.run.id) if detail.run is not None else None
        self.details.value = version_details_html(detail.version, detail.run,
                                                  list(detail.history), lineage)

    # ---- actions -----------------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        color = f"color: {_BAD}" if error else ""
        self.status.value = f'<div style="{_FONT}; {color}">{escape(text)}</div>'

    def _attempt(self, action):
        """`action()`, or None with its `NbModelsError` in the status line (a click handler
        shows the user's mistakes rather than raising them)."""
        from .errors import NbModelsError

        try:
            return action()
        except NbModelsError as exc:
            self._say(str(exc), error=True)
            return None

    def _compare(self, _button=None) -> None:
        if len(self.selected) < 2:
            self._say("Select two or more versions to compare.", error=True)
            return
        comparison = self._attempt(lambda: self.registry.compare(*self.selected))
        if comparison is None:
            return
        self.compare_view = CompareView(comparison)
        self.compare_area.children = [self.compare_view.widget]
        self._say(f"Comparing {', '.join(self.selected)}")

    def _restore(self, _button=None) -> None:
        if self.focused is None:
            return
        wanted = self.restore_as.value.strip()
        if wanted and not wanted.isidentifier():
            self._say(f"{wanted!r} is not a Python variable name", error=True)
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            restored = self._attempt(lambda: self.registry.restore(self.focused))
        if restored is None:
            return
        name, obj = restored
        name = wanted or name
        self.namespace[name] = obj
        notes = "".join(f" · warning: {w.message}" for w in caught)
        self._say(f"Restored {self.focused} as {name} ({type(obj).__name__}){notes}")

    def _stage(self, _button=None) -> None:
        if self.focused is None:
            return
        version = self._attempt(lambda: self.registry.set_stage(
            self.focused, self.stage_select.value, note=self.stage_note.value.strip() or None))
        if version is None:
            return
        self.stage_note.value = ""
        self.refresh(select=version.name)
        self._show_details()
        self._say(f"{version.ref} is now {version.stage}")

    def _card(self, _button=None) -> None:
        """The model card below the details, in a sandboxed frame (its page style stays its
        own; no script runs in it)."""
        if self.focused is None:
            return
        page = self._attempt(lambda: self.registry.card(self.focused))
        if page is None:
            return
        import ipywidgets as w

        self.compare_area.children = [w.HTML(
            f'<iframe sandbox="" title="model card" srcdoc="{escape(page, quote=True)}" '
            'style="width: 100%; height: 640px; border: 1px solid #d0d7de"></iframe>')]
        self._say(f"Model card of {self.focused} (nbmodels card {self.focused} -o card.html "
                  "writes it to a file)")

    # ---- output ------------------------------------------------------------------------------------

    def html(self) -> str:
        """A static snapshot: the models table and the shown model's version page."""
        name = self.models_list.value
        return (f'<div class="nbmodels-browser" style="{_FONT}">{self.title.value}'
                f'{self.models_table.value}'
                + (f"<div><b>{escape(name)}</b> · {escape(self.page_label.value)}</div>"
                   f"{self.versions_table.value}" if name else "")
                + "</div>")

    def text(self) -> str:
        lines = [f"nbmodels · {len(self._summaries)} model(s) · {self.registry.home}"]
        for s in self._summaries[:50]:
            lines.append("  " + _model_label(s))
        if len(self._summaries) > 50:
            lines.append(f"  … {len(self._summaries) - 50} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = self.text()
        return bundle


# ---- browser HTML pieces ------------------------------------------------------------------------

def _number(value) -> float | None:
    """A metric to sort by: booleans are not ranked with numbers."""
    return None if isinstance(value, bool) else as_number(value)


def _metric_names(versions: list) -> list[str]:
    from .registry import key_metric

    names = list(dict.fromkeys(k for v in versions[-200:] for k in v.metrics))
    key = key_metric(dict.fromkeys(names))
    return ([key] if key else []) + [n for n in names if n != key]


def _model_label(summary) -> str:
    parts = [summary.name, f"latest {summary.latest_version}"]
    if summary.production_version:
        parts.append(f"prod {summary.production_version}")
    if summary.key_metric:
        parts.append(f"{summary.key_metric} {_text(summary.key_metric_value)}")
    return " · ".join(parts)


def _models_table(summaries: list) -> str:
    if not summaries:
        return _note("No model matches.")
    rows = [([_cell(s.name), _cell(s.versions), _cell(s.latest_version),
              _cell(s.production_version),
              _cell(f"{s.key_metric} {_text(s.key_metric_value)}" if s.key_metric else None)],
             False) for s in summaries]
    return _table(["model", "versions", "latest", "production", "key metric"], rows)


def _version_text(version) -> str:
    words = [version.ref, version.note or "", *(f"{k}={v}" for k, v in version.tags.items())]
    return "\n".join(words).lower()


def _version_label(version, metric_names: list[str]) -> str:
    parts = [version.version, version.stage]
    for name in metric_names[:2]:
        if name in version.metrics:
            parts.append(f"{name}={_text(version.metrics[name])}")
    if version.note:
        parts.append(_text(version.note, 40))
    return " · ".join(parts)


def _versions_table(versions: list, metric_names: list[str], sort_key: str) -> str:
    header = ["version", "stage", *metric_names, "created", "bump", "note", "tags"]
    rows = []
    for v in versions:
        stage = (f'<td style="{_TD}; color: {STAGE_COLORS.get(v.stage, "#1976d2")}">'
                 f'{escape(v.stage)}</td>')
        cells = [_cell(v.version), stage, *(_cell(v.metrics.get(m)) for m in metric_names),
                 _cell((v.created_at or "")[:16].replace("T", " ")), _cell(v.bump),
                 _cell(v.note, 40), _cell(v.tags or None, 40)]
        rows.append((cells, v.stage == "production"))
    return _table(header, rows)


def version_details_html(version, run, history: list, lineage=None) -> str:
    """Everything about one version: facts, params, metrics, lineage (its run, and the
    cells that produced it when `lineage` is given), inputs, code, stages."""
    facts = [("ref", version.ref), ("stage", version.stage), ("type", version.model_type),
             ("size", f"{version.size} bytes"), ("created", version.created_at),
             ("user", version.user), ("bump", f"{version.bump}: {version.bump_reason}"),
             ("note", version.note), ("tags", version.tags or None),
             ("object", version.object_hash[:16])]
    html = [f'<div style="{_FONT}"><h4 style="margin: 6px 0">{escape(version.ref)}</h4>',
            _table(["", ""], [([_cell(k), _cell(v, 200)], False) for k, v in facts])]
    if version.metrics:
        html.append(_section("Metrics", _table(["metric", "value"], [
            ([_cell(k), _cell(v)], False) for k, v in version.metrics.items()])))
    if version.params:
        html.append(_section(f"Params ({len(version.params)})", _table(["param", "value"], [
            ([_cell(k), _cell(v)], False) for k, v in version.params.items()]), open_=False))
    if run is None:
        html.append(_note("Lineage: registered without a tracked run."))
    else:
        git = run.git or {}
        about_run = [("run", run.id), ("experiment", run.experiment), ("status", run.status),
                   ("started", run.started_at), ("notebook", run.notebook),
                   ("run note", run.note),
                   ("git", f"{git.get('commit', '')[:10]} {git.get('branch') or ''}"
                    f"{' (dirty)' if git.get('dirty') else ''}" if git else None)]
        html.append(_section("Lineage", _table(["", ""], [
            ([_cell(k), _cell(v, 200)], False) for k, v in about_run])))
        if lineage is not None and lineage.cells:
            html.append(_section(f"Cells that produced it ({len(lineage.cells)})",
                                 render.lineage_html(lineage), open_=False))
        if run.inputs:
            rows = [([_cell(i.name), _cell(i.type), _cell(i.fingerprint[:12]),
                      _cell("×".join(str(s) for s in i.schema.get("shape", [])) or None),
                      _cell(", ".join(i.schema.get("columns", {}) or []) or None, 120)], False)
                    for i in run.inputs]
            html.append(_section("Inputs", _table(
                ["input", "type", "fingerprint", "shape", "columns"], rows), open_=False))
        html.append(_section("Code", f'<pre style="{_MONO}; white-space: pre-wrap; margin: 0">'
                                     f'{escape(run.source or "")}</pre>', open_=False))
    if history:
        rows = [([_cell(t.at[:19].replace("T", " ")), _cell(t.from_stage), _cell(t.to_stage),
                  _cell(t.user), _cell(t.note, 120)], False) for t in history]
        html.append(_section("Stage history", _table(["at", "from", "to", "user", "note"], rows)))
    html.append("</div>")
    return "".join(html)

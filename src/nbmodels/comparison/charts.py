"""Charts of each metric across the compared versions, stages marked.

With the `charts` extra (altair + vl-convert-python) the charts are Vega-Lite: the live
view shows them interactive (hover for values) and a saved notebook keeps the same chart as
an SVG rendered by vl-convert. Without it, `metric_chart_svg` draws a plain SVG (the fallback).
Both static forms are <img> data URIs, which the HTML sanitizers of untrusted notebooks keep.
"""

from __future__ import annotations

import base64
import importlib.util
import math
from html import escape

from ..htmlparts import STAGE_COLORS
from .frames import as_number

VEGALITE_MIME = "application/vnd.vegalite.v5+json"  # JupyterLab 4 renders Vega-Lite 5
_STAGES = ("production", "staging", "archived", "none")
_WIDTH, _HEIGHT = 260, 150


def have_altair() -> bool:
    """Whether the `charts` extra is installed (looked up, not imported: importing altair
    takes a while and only a chart needs it)."""
    return all(importlib.util.find_spec(m) is not None for m in ("altair", "vl_convert"))


def metric_points(comparison) -> list[tuple[str, list, bool]]:
    """`(metric, [(label, value, stage)], lower_is_better)` for each metric with a number."""
    frame = comparison.metrics
    stages = [t.stage for t in comparison.targets]
    found = []
    for metric, row in frame.iterrows():
        points = [(label, _number(row[label]), stage)
                  for label, stage in zip(comparison.labels, stages)]
        if any(value is not None for _, value, _ in points):
            found.append((str(metric), points, bool(row["lower_is_better"])))
    return found


def _number(value) -> float | None:
    number = None if isinstance(value, bool) else as_number(value)
    return None if number is None or math.isnan(number) else number


def _title(metric: str, lower_is_better: bool) -> str:
    return f"{metric} ({'↓ lower' if lower_is_better else '↑ higher'} is better)"


# ---- Vega-Lite (altair) ----------------------------------------------------------------------

def metric_chart(metric: str, points: list, lower_is_better: bool):
    """An altair chart of one metric across versions: a line through the values, each point
    colored by its stage (production larger), a tooltip with version, stage and value."""
    import altair as alt

    rows = [{"order": i, "ref": label, "version": label.split("@", 1)[-1], "value": value,
             "stage": stage or "none"}
            for i, (label, value, stage) in enumerate(points) if value is not None]
    x = alt.X("version:N", sort=alt.SortField("order"), title=None,
              axis=alt.Axis(labelAngle=-35, labelOverlap=True, labelLimit=80))
    y = alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False))
    base = alt.Chart(alt.Data(values=rows)).encode(x=x, y=y)
    line = base.mark_line(color="#90a4ae", strokeWidth=1.5)
    dots = base.mark_point(filled=True, opacity=1).encode(
        color=alt.Color("stage:N", title="stage", scale=alt.Scale(
            domain=list(_STAGES), range=[STAGE_COLORS[s] for s in _STAGES])),
        size=alt.condition(alt.datum.stage == "production", alt.value(110), alt.value(45)),
        tooltip=[alt.Tooltip("ref:N", title="version"), alt.Tooltip("stage:N"),
                 alt.Tooltip("value:Q", title=metric, format=".6g")])
    return (line + dots).properties(title=_title(metric, lower_is_better), width=_WIDTH,
                                    height=_HEIGHT)


def charts_spec(comparison) -> dict | None:
    """Every metric's chart side by side (three to a row) as one Vega-Lite spec; None
    without the `charts` extra or without a numeric metric."""
    found = metric_points(comparison)
    if not found or not have_altair():
        return None
    import altair as alt

    return alt.concat(*(metric_chart(*f) for f in found), columns=3).to_dict()


def spec_svg(spec: dict) -> str:
    """A Vega-Lite spec rendered to SVG by vl-convert (no browser, no network)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def chart_bundle(comparison) -> dict | None:
    """The charts as a display bundle for the live view: Vega-Lite, which JupyterLab renders
    interactive (hover for values); None when there is nothing to chart or no `charts`
    extra. (The saved notebook's copy is `charts_html`'s SVG.)"""
    spec = charts_spec(comparison)
    if spec is None:
        return None
    return {VEGALITE_MIME: spec,
            "text/plain": f"<charts of {len(spec['concat'])} metric(s) across versions>"}


# ---- the static charts -----------------------------------------------------------------------

def charts_html(comparison) -> str:
    """One chart per metric across the compared versions (Vega-Lite rendered to SVG with the
    `charts` extra, else drawn by hand), and the stage legend."""
    vega = have_altair()
    images = []
    for metric, points, lower in metric_points(comparison):
        svg = spec_svg(metric_chart(metric, points, lower).to_dict()) if vega else \
            metric_chart_svg(metric, points, lower)
        if svg:
            images.append(_svg_img(svg, f"{metric} across versions"))
    if not images:
        return ""
    legend = " ".join(f'<span style="color: {STAGE_COLORS[s]}">●</span> {escape(s)}'
                      for s in _STAGES)
    return (f'<div class="nbmodels-charts" style="display: flex; flex-wrap: wrap">'
            f'{"".join(images)}</div><div style="opacity: 0.8">{legend}</div>')



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



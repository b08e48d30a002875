"""A comparison as plain JSON (REST, `nbmodels diff --json`) and as text (`nbmodels diff`)."""

from __future__ import annotations

import math


def jsonable(value):
    """Plain JSON values: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def frame_rows(frame, labels: list[str], extra: dict[str, str]) -> list[dict]:
    """DataFrame rows as `{<index names>..., "values": {label: v}, <extra>...}`."""
    names = [n or "name" for n in frame.index.names]
    rows = []
    for key, row in frame.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        item = {name: jsonable(k) for name, k in zip(names, key)}
        item["values"] = {label: jsonable(row[label]) for label in labels}
        for column, out in extra.items():
            item[out] = jsonable(row[column])
        rows.append(item)
    return rows


def delta_rows(frame, labels: list[str]) -> list[dict]:
    rows = []
    for key, row in frame.iterrows():
        rows.append({"name": str(key),
                     "values": {label: jsonable(row[label]) for label in labels},
                     "delta": {label: jsonable(row[f"delta {label}"]) for label in labels[1:]},
                     "change": {label: row[f"change {label}"] for label in labels[1:]},
                     "lower_is_better": bool(row["lower_is_better"]),
                     "best": row["best"] or None})
    return rows


def comparison_dict(comparison, importance: bool = True) -> dict:
    """`Comparison.to_dict`: every section as rows of plain JSON values."""
    c, rows = comparison, frame_rows
    return {
        "refs": list(c.labels),
        "model": c.model,
        "targets": [{"label": t.label, "ref": t.ref, **jsonable(t.facts())} for t in c.targets],
        "summary": c.summary(),
        "params": rows(c.params, c.labels, {"changed": "changed"}),
        "metrics": delta_rows(c.metrics, c.labels),
        "code": {"unified": c.code, "diffs": [d.to_dict() for d in c.code_diffs],
                 "sources": dict(c.sources)},
        "data": rows(c.data, c.labels, {"change": "change"}),
        "data_stats": rows(c.data_stats, c.labels, {"changed": "changed"}),
        "inputs": rows(c.inputs, c.labels, {"changed": "changed"}),
        "env": rows(c.env, c.labels, {}),
        "models": rows(c.models, c.labels, {"changed": "changed"}),
        "importance": rows(c.importance, c.labels, {"change": "change"}) if importance else None,
        "scores": delta_rows(c.scores, c.labels) if c.scores is not None else None,
        "disagreement": jsonable(c.disagreement),
        "warnings": list(c.warnings),
    }


def comparison_text(comparison, width: int = 100) -> str:
    """`Comparison.to_text`: the sections as plain-text tables. Numbers keep their
    magnitude (`1e-09` stays `1e-09`, never `0.0`): metrics with 6 significant digits,
    params and everything else with 12."""
    c = comparison

    def table(frame, digits: int = 12) -> str:
        import pandas as pd

        with pd.option_context("display.width", width, "display.max_columns", 50,
                               "display.max_colwidth", 40):
            return frame.map(lambda v: number_text(v, digits)).to_string()

    out = [f"Comparing {' ↔ '.join(c.labels)}"]
    info = c.summary()
    out.append(f"{info['params_changed']} of {info['params']} params changed · "
               f"{info['better']} metric(s) better, {info['worse']} worse · code "
               f"{'changed' if info['code_changed'] else 'unchanged'} · "
               f"{info['data_changes']} data schema change(s) · "
               f"{info['packages_changed']} package(s) differ")
    out += ["", "== Models", table(c.models.drop(columns="changed"))]
    if len(c.metrics):
        out += ["", "== Metrics", table(c.metrics, 6)]
    if c.scores is not None:
        out += ["", "== Scores on the given data", table(c.scores, 6)]
    changed = c.params[c.params["changed"]]
    out += ["", f"== Params ({len(changed)} changed, {len(c.params) - len(changed)} same)"]
    if len(changed):
        out.append(table(changed.drop(columns="changed")))
    out += ["", "== Code"]
    out.append(c.code.rstrip("\n") if c.code else
               ("(same code)" if c.code_diffs else "(no code recorded)"))
    schema = c.data[c.data["change"] != ""]
    out += ["", f"== Data ({len(schema)} schema change(s))"]
    if len(schema):
        out.append(table(schema))
    fingerprints = c.inputs[c.inputs["changed"]]
    if len(fingerprints):
        out.append(table(fingerprints.drop(columns="changed")))
    out += ["", f"== Environment ({len(c.env)} package(s) differ)"]
    if len(c.env):
        out.append(table(c.env))
    for warning in c.warnings:
        out.append(f"warning: {warning}")
    return "\n".join(out) + "\n"


def number_text(value, digits: int = 12):
    """A float cell as text with `digits` significant digits (NaN as `NaN`); any other
    cell unchanged."""
    if isinstance(value, float) and not isinstance(value, bool):
        return "NaN" if math.isnan(value) else f"{value:.{digits}g}"
    return value

"""The inference of the next semantic-version bump, and the reason shown for it.

Compares two versions' facts (`nbmodels.facts.version_facts`):
- **major**: the model class changed (a step class inside a pipeline included), or what
  the model accepts: its own input signature, else the schema of its training data;
- **minor**: hyperparameters, training data content or metrics changed;
- **patch**: only the cell code or the environment changed.

A fact one side does not know (None: a version registered without a tracked run) is not
compared. Values compare as a data scientist reads them: NaN equals NaN, `True` is not `1`,
`None` is a value and differs from a missing key (shown as `absent`).
"""

from __future__ import annotations

import math

_MINOR = (("params", "hyperparameters"), ("cell_params", "hyperparameters"),
          ("data", "training data"), ("metrics", "metrics"))
_PATCH = (("source", "cell code"), ("packages", "environment"))
_ABSENT = object()


def infer_bump(previous: dict, current: dict) -> tuple[str, str]:
    """Decide `major`/`minor`/`patch` from what changed between two versions' facts and
    return it with a one-line reason naming what changed."""
    if "facts_version" not in previous:
        previous, current = _as_legacy(previous, current)
    major = _major_reason(previous, current)
    if major:
        return "major", major
    minor = _changes(previous, current, _MINOR)
    if minor:
        return "minor", minor
    patch = _changes(previous, current, _PATCH)
    if patch:
        return "patch", patch
    return "patch", _nothing_else(previous, current)


def _nothing_else(previous: dict, current: dict) -> str:
    """The patch reason when no compared fact differs: say which facts were compared."""
    compared = [label for key, label in (("params", "params"), ("data", "data"),
                                         ("metrics", "metrics"), ("source", "code"))
                if _known(previous, current, key)]
    if not compared:
        return "model bytes changed; nothing else was recorded to compare"
    listed = ", ".join(compared[:-1]) + " and " + compared[-1] if len(compared) > 1 else compared[0]
    return f"model bytes changed; {listed} {'are' if len(compared) > 1 else 'is'} the same"


def _as_legacy(previous: dict, current: dict) -> tuple[dict, dict]:
    """Facts stored before `facts_version` hold the run's params (or the model's, without
    a run) and {} for what a version without a run did not know."""
    had_run = previous.get("source") is not None
    old = {**previous, "cell_params": None, "rows": None}
    new = {**current, "params": current.get("_run_params", current.get("params")),
           "cell_params": None, "data": current.get("_inputs"),
           "input_schema": current.get("_input_schemas") or None, "rows": None}
    if not had_run:
        old.update(data=None, metrics=None, packages=None, input_schema=None)
    return old, new


def _known(previous: dict, current: dict, key: str) -> bool:
    return previous.get(key) is not None and current.get(key) is not None


# ---- major ------------------------------------------------------------------------------

def _major_reason(previous: dict, current: dict) -> str | None:
    old_type, new_type = previous.get("model_type"), current.get("model_type")
    if old_type and old_type != new_type:
        return f"model class changed: {old_type} → {new_type}"
    if _known(previous, current, "structure"):
        change = _structure_change(previous["structure"], current["structure"])
        if change:
            return f"model class changed: {change}"
    old_sig, new_sig = previous.get("signature"), current.get("signature")
    if old_sig and new_sig:
        return _signature_change(old_sig, new_sig, "input signature")
    if _known(previous, current, "input_schema"):
        change = _schema_change(previous["input_schema"], current["input_schema"])
        if change:
            return f"input data schema changed: {change}"
    return None


def _structure_change(old: list, new: list) -> str | None:
    old_classes, new_classes = [c for _, c in old], [c for _, c in new]
    if old_classes == new_classes:
        return None
    container = new_classes[0]
    pairs = [(a, b) for a, b in zip(old_classes[1:], new_classes[1:]) if a != b]
    parts = [f"{a} → {b}" for a, b in pairs[:3]]
    if len(old_classes) != len(new_classes):
        parts.append(f"{len(old_classes) - 1} → {len(new_classes) - 1} steps")
    return f"{', '.join(parts)} in the {container}"


def _signature_change(old: dict, new: dict, label: str) -> str | None:
    old_features, new_features = old.get("features"), new.get("features")
    if old_features is not None and new_features is not None and old_features != new_features:
        removed = [f for f in old_features if f not in new_features]
        added = [f for f in new_features if f not in old_features]
        parts = ([f"removed {_names(removed)}"] if removed else []) + (
            [f"added {_names(added)}"] if added else [])
        return f"{label} changed: " + ("; ".join(parts) or "features reordered")
    if old.get("n_features") != new.get("n_features"):
        return f"{label} changed: {old.get('n_features')} → {new.get('n_features')} inputs"
    if old.get("target") != new.get("target"):
        return f"{label} changed: target {old.get('target')!r} → {new.get('target')!r}"
    return None


def _schema_change(old: dict, new: dict) -> str | None:
    """Schemas without their row counts (fewer rows is not another input), compared as a
    collection: the same data under another name is the same schema."""
    old = {k: _without_rows(v) for k, v in old.items()}
    new = {k: _without_rows(v) for k, v in new.items()}
    if sorted(map(repr, old.values())) == sorted(map(repr, new.values())):
        return None
    return _limited(_dict_change(old, new))


def _without_rows(schema) -> dict:
    if not isinstance(schema, dict):
        return schema
    shape = schema.get("shape")
    return {**schema, "shape": list(shape[1:])} if isinstance(shape, list) else schema


# ---- minor and patch --------------------------------------------------------------------

def _changes(previous: dict, current: dict, labels) -> str | None:
    """`LABEL changed: a 1 → 2, ...; LABEL changed: ...` for the facts that differ (the
    model's and the cell's params share one label)."""
    found: dict[str, list[str]] = {}
    for key, label in labels:
        if not _known(previous, current, key):
            continue
        old, new = previous[key], current[key]
        if key == "data":
            items = _data_change(old, new, previous.get("rows") or {}, current.get("rows") or {})
        elif isinstance(old, dict) and isinstance(new, dict):
            items = _dict_change(old, new)
        else:
            items = [] if same(old, new) else ["edited"]
        if items:
            found.setdefault(label, []).extend(items)
    return "; ".join(f"{label} changed: {_limited(items)}" for label, items in found.items()) or None


def _data_change(old: dict, new: dict, old_rows: dict, new_rows: dict) -> list[str]:
    """Data compared by content (fingerprints), not by the names it was read under."""
    if set(old.values()) == set(new.values()):
        return []
    parts = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        if name not in old:
            if new[name] not in old.values():
                parts.append(f"{name} added")
        elif name not in new:
            if old[name] not in new.values():
                parts.append(f"{name} removed")
        elif old_rows.get(name) != new_rows.get(name) and None not in (
                old_rows.get(name), new_rows.get(name)):
            parts.append(f"{name} {old_rows[name]} → {new_rows[name]} rows")
        else:
            parts.append(f"{name} content")
    return parts or ["content"]


def _dict_change(old: dict, new: dict) -> list[str]:
    changed = [k for k in sorted(set(old) | set(new), key=str)
               if not same(old.get(k, _ABSENT), new.get(k, _ABSENT))]
    return [f"{k} {_short(old.get(k, _ABSENT))} → {_short(new.get(k, _ABSENT))}" for k in changed]


def _limited(parts: list[str], limit: int = 3) -> str:
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def same(a, b) -> bool:
    """Equal for change detection: NaN equals NaN, a bool never equals a number, None
    differs from a missing value; dicts and lists element by element."""
    if a is _ABSENT or b is _ABSENT:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # values whose == is not a bool
        return False


def _short(value) -> str:
    if value is _ABSENT:
        return "absent"
    if value is None:
        return "None"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 24 else text[:10] + "…"


def _names(names: list, limit: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")

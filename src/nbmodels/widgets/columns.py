"""What the browser shows of models and versions: the models grid's and the versions
grid's columns, a model's one-line label, the text a version is searched by."""

from __future__ import annotations

from ..htmlparts import short_time, text
from .grid import Column

METRIC_COLUMNS = 5  # metric columns in the grid: with the others, one line at 1280 px


def _metric_names(versions: list) -> list[str]:
    """The metrics of the newest versions, the key metric first."""
    from ..registry import key_metric

    names = list(dict.fromkeys(k for v in versions[-200:] for k in v.metrics))
    key = key_metric(dict.fromkeys(names))
    return ([key] if key else []) + [n for n in names if n != key]


def version_columns(versions: list) -> list[Column]:
    metrics = [Column(f"metrics.{m}", m, lambda v, m=m: v.metrics.get(m), numeric=True)
               for m in _metric_names(versions)[:METRIC_COLUMNS]]
    where = [Column("location", "where", lambda v: v.location)] \
        if any(v.location for v in versions[-200:]) else []
    return [Column("version", "version", lambda v: v.version),
            Column("stage", "stage", lambda v: v.stage), *metrics,
            Column("created_at", "created", lambda v: short_time(v.created_at)),
            Column("bump", "bump", lambda v: v.bump), *where,
            Column("note", "note", lambda v: v.note, limit=32),
            Column("tags", "tags", lambda v: v.tags or None, limit=24)]


def model_label(summary) -> str:
    parts = [summary.name, f"latest {summary.latest_version}"]
    if summary.production_version:
        parts.append(f"prod {summary.production_version}")
    if summary.key_metric:
        parts.append(f"{summary.key_metric} {text(summary.key_metric_value)}")
    return " · ".join(parts)


def model_columns() -> list[Column]:
    """The models grid's columns; `updated_at` is the order `list_models` gives."""
    return [Column("name", "model", lambda s: s.name),
            Column("versions", "versions", lambda s: s.versions, numeric=True),
            Column("latest_version", "latest", lambda s: s.latest_version),
            Column("production_version", "production", lambda s: s.production_version),
            Column("key_metric", "key metric", lambda s: f"{s.key_metric} "
                   f"{text(s.key_metric_value)}" if s.key_metric else None),
            Column("updated_at", "last updated", lambda s: short_time(s.updated_at))]


def model_text(summary) -> str:
    return f"{summary.name}\n{summary.description or ''}".lower()


def version_text(version) -> str:
    words = [version.ref, version.note or "",
             *(f"{k}={v}" for k, v in version.tags.items())]
    return "\n".join(words).lower()

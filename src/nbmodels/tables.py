"""Records as pandas DataFrames, flattened like MLflow's `search_runs` (`params.C`,
`metrics.accuracy`, `tags.team`) so they filter and sort with plain pandas."""

from __future__ import annotations

from typing import Iterable, Sequence

from .jsoncodec import decode_json

RUN_COLUMNS = ["id", "experiment", "status", "started_at", "ended_at", "duration_s", "user",
               "notebook", "note"]
VERSION_COLUMNS = ["name", "version", "stage", "run_id", "created_at", "user", "bump",
                   "bump_reason", "note", "model_type", "size", "object_hash", "location"]


def runs_frame(runs: Iterable):
    return _flattened_frame(runs, RUN_COLUMNS)


def versions_frame(versions: Iterable):
    return _flattened_frame(versions, VERSION_COLUMNS)


def runs_frame_from_rows(rows: Sequence[tuple]):
    """The `runs()` frame straight from query rows: `RUN_COLUMNS` values, then the
    params, metrics and tags JSON texts of each run (no `Run` records in between)."""
    width = len(RUN_COLUMNS)
    data: dict[str, list] = {c: [r[i] for r in rows] for i, c in enumerate(RUN_COLUMNS)}
    for offset, group in enumerate(("params", "metrics", "tags")):
        _add_flattened(data, group, parse_json_texts([r[width + offset] for r in rows]))
    return _frame(data)


def parse_json_texts(texts: Sequence[str | None]) -> list:
    """Decode many stored JSON texts with one `json.loads` (a call per row costs more than the
    parsing itself at 10,000 rows); None decodes as {}."""
    if not texts:
        return []
    return decode_json("[" + ",".join(t or "{}" for t in texts) + "]")


def records_frame(records: Iterable, columns: list[str]):
    import pandas as pd

    data = {c: [getattr(r, c) for r in records] for c in columns} if records else {}
    return pd.DataFrame(data, columns=columns)


def _flattened_frame(records: Iterable, columns: list[str]):
    """Fixed columns, then one column per params/metrics/tags key (missing -> NaN/None)."""
    records = list(records)
    data: dict[str, list] = {c: [getattr(r, c) for r in records] for c in columns}
    for group in ("params", "metrics", "tags"):
        _add_flattened(data, group, [getattr(r, group) for r in records])
    return _frame(data)


def _add_flattened(data: dict[str, list], group: str, values: list[dict]) -> None:
    """One `group.KEY` column per key, in order of first appearance (missing -> None)."""
    for key in dict.fromkeys(k for value in values for k in value):
        data[f"{group}.{key}"] = [value.get(key) for value in values]


def _frame(data: dict[str, list]):
    import pandas as pd

    return pd.DataFrame(data, columns=list(data))

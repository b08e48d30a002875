"""Records as pandas DataFrames, flattened like MLflow's `search_runs` (`params.C`,
`metrics.accuracy`, `tags.team`) so they filter and sort with plain pandas."""

from __future__ import annotations

from typing import Iterable

RUN_COLUMNS = ["id", "experiment", "status", "started_at", "ended_at", "duration_s", "user",
               "notebook", "note"]
VERSION_COLUMNS = ["name", "version", "stage", "run_id", "created_at", "user", "bump",
                   "bump_reason", "note", "model_type", "size", "object_hash"]


def runs_frame(runs: Iterable):
    return _flattened_frame(runs, RUN_COLUMNS)


def versions_frame(versions: Iterable):
    return _flattened_frame(versions, VERSION_COLUMNS)


def records_frame(records: Iterable, columns: list[str]):
    import pandas as pd

    data = {c: [getattr(r, c) for r in records] for c in columns} if records else {}
    return pd.DataFrame(data, columns=columns)


def _flattened_frame(records: Iterable, columns: list[str]):
    """Fixed columns, then one column per params/metrics/tags key (missing -> NaN/None)."""
    import pandas as pd

    records = list(records)
    data: dict[str, list] = {c: [getattr(r, c) for r in records] for c in columns}
    for group in ("params", "metrics", "tags"):
        keys = dict.fromkeys(k for r in records for k in getattr(r, group))
        for key in keys:
            data[f"{group}.{key}"] = [getattr(r, group).get(key) for r in records]
    return pd.DataFrame(data, columns=list(data))

"""Data values: which values are data, and their fingerprint, schema and statistics.
"""

from __future__ import annotations

import sys

from dataclasses import dataclass
from typing import Any

from .fingerprints import array_fingerprint, frame_fingerprint, series_fingerprint
from .models import type_name
from .stats import MAX_STATS_COLUMNS, Scratch, array_stats, column_stats
from .values import numpy_module

@dataclass(frozen=True)
class DataSummary:
    """Fingerprint (xxh3-128 hex), schema, per-column statistics and in-memory size of data."""

    fingerprint: str
    type: str
    schema: dict
    stats: dict
    nbytes: int

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint, "type": self.type, "schema": self.schema,
            "stats": self.stats, "nbytes": self.nbytes,
        }


def is_data(value: Any) -> bool:
    """Whether `value` is a pandas DataFrame or Series or a NumPy array."""
    np = numpy_module()
    if np is not None and isinstance(value, np.ndarray):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, (pd.DataFrame, pd.Series))


def summarize_data(value: Any) -> DataSummary:
    """Return the fingerprint, schema, statistics and size of a DataFrame, Series or ndarray.

    The fingerprint changes with any cell value, column name, dtype, index or row order,
    and is the same for equal data however it is laid out in memory. Schema and statistics
    are computed once per fingerprint: the same training data read by every cell of a
    session is described once. Raises TypeError for anything `is_data` rejects.
    """
    if not is_data(value):
        raise TypeError(f"not a DataFrame, Series or ndarray: {type_name(value)}")
    fingerprint = data_fingerprint(value)
    described = _DESCRIBED.get(fingerprint)
    if described is None:
        described = _describe(value)
        if len(_DESCRIBED) >= _DESCRIBED_MAX:
            _DESCRIBED.pop(next(iter(_DESCRIBED)))
        _DESCRIBED[fingerprint] = described
    schema, stats, nbytes = described
    return DataSummary(fingerprint, type_name(value), schema, stats, nbytes)


_DESCRIBED: dict[str, tuple[dict, dict, int]] = {}  # fingerprint -> (schema, stats, nbytes)


_DESCRIBED_MAX = 256


def data_fingerprint(value: Any) -> str:
    """The xxh3-128 content fingerprint of a DataFrame, Series or ndarray."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return array_fingerprint(value)
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return frame_fingerprint(value)
    return series_fingerprint(value)


def _describe(value: Any) -> tuple[dict, dict, int]:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _describe_array(value)
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return _describe_frame(value)
    return _describe_series(value)


def _describe_frame(frame: Any) -> tuple[dict, dict, int]:
    schema = {
        "kind": "DataFrame",
        "columns": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        "shape": list(frame.shape),
    }
    stats = {}
    scratch = Scratch()
    for position, (name, column) in enumerate(frame.items()):
        if position >= MAX_STATS_COLUMNS:
            break
        stats[str(name)] = column_stats(column, scratch)
    return schema, stats, int(frame.memory_usage(index=True, deep=False).sum())


def _describe_series(series: Any) -> tuple[dict, dict, int]:
    schema = {
        "kind": "Series", "name": None if series.name is None else str(series.name),
        "dtype": str(series.dtype), "shape": [len(series)],
    }
    stats = {"value" if series.name is None else str(series.name): column_stats(series)}
    return schema, stats, int(series.memory_usage(index=True, deep=False))


def _describe_array(array: Any) -> tuple[dict, dict, int]:
    schema = {"kind": "ndarray", "dtype": str(array.dtype), "shape": list(array.shape)}
    return schema, array_stats(array), int(array.nbytes)


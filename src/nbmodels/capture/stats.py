"""Per-column summary statistics of DataFrames, Series and arrays, in bounded memory.
"""

from __future__ import annotations

import datetime
import math
import warnings

from typing import Any

from .blocks import c_order_pieces, chunk_rows, row_parts
from .values import json_value

MAX_STATS_COLUMNS = 200


MAX_ARRAY_STATS_COLUMNS = 100


MAX_TOP_CHARS = 200


def column_stats(column: Any, scratch: Scratch | None = None) -> dict:
    """count, nulls and mean/std/min/max, min/max, or distinct/top of a Series, by blocks of rows."""
    import numpy as np
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        moments = Moments(1, dtype, scratch)
        moments.add(column.to_numpy().reshape(-1, 1))  # a view of the column
        return moments.column(0)
    numeric = pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    if numeric and not pd.api.types.is_complex_dtype(dtype):
        try:
            return _extension_numeric_stats(column, scratch)
        except Exception:  # noqa: BLE001, S110  an extension dtype with no float conversion
            pass  # described by pandas below, whole
    if numeric:
        count = int(column.count())
        stats: dict[str, Any] = {"count": count, "nulls": len(column) - count}
        for stat in ("mean", "std", "min", "max"):
            stats[stat] = safe_stat(lambda: getattr(column, stat)())
        return stats
    count = sum(int(part.count()) for part in row_parts(column))
    stats = {"count": count, "nulls": len(column) - count}
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        stats["min"] = safe_stat(lambda: _extreme(column, "min"))
        stats["max"] = safe_stat(lambda: _extreme(column, "max"))
    else:
        counts = _safe_value_counts(column)
        stats["distinct"] = None if counts is None else int((counts.to_numpy() > 0).sum())
        stats["top"] = safe_stat(lambda: _top(counts))
    return stats


def _extreme(column: Any, op: str) -> Any:
    """`column.min()` / `.max()` (skipping nulls) computed by blocks: no full-length mask or copy."""
    import pandas as pd

    found = [value for value in (getattr(part, op)() for part in row_parts(column))
             if not pd.isna(value)]
    if not found:
        return None
    return min(found) if op == "min" else max(found)


def _extension_numeric_stats(column: Any, scratch: Scratch | None) -> dict:
    """Stats of a nullable/Arrow/sparse numeric column: moments in float64 by blocks, extremes by pandas."""
    import numpy as np

    moments = Moments(1, np.dtype(np.float64), scratch)
    for part in row_parts(column, 16):
        moments.add(part.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1))
    stats = moments.column(0)
    for op in ("min", "max"):
        stats[op] = safe_stat(lambda op=op: _extreme(column, op)) if stats["count"] else None
    return stats


def _safe_value_counts(column: Any) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return column.value_counts(dropna=True)
    except Exception:  # e.g. unhashable objects
        return None


def _top(counts: Any) -> str | None:
    """The most frequent value of `column.value_counts(dropna=True)`, as text."""
    if counts is None or counts.empty:
        return None
    return str(counts.index[0])[:MAX_TOP_CHARS]


def safe_stat(compute) -> Any:
    """A statistic as a JSON value; None when it cannot be computed or is not finite."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return stat_json(compute())
    except Exception:  # e.g. unhashable or unorderable objects
        return None


def stat_json(value: Any) -> Any:
    value = json_value(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.timedelta):  # pandas Timedelta too; "0 days 00:00:01"
        return None if value != value else str(value)
    if hasattr(value, "isoformat"):
        try:
            return None if value != value else value.isoformat()  # NaT != NaT
        except Exception:
            return str(value)
    if isinstance(value, complex):
        return None
    return str(value)


def array_stats(array: Any) -> dict:
    if array.dtype.kind not in "biuf":
        return {"value": {"count": int(array.size)}}
    as_float = array.dtype.kind == "b"  # an array's booleans are described as 0.0/1.0
    if array.ndim == 2:
        columns = array[:, :MAX_ARRAY_STATS_COLUMNS]
        moments = Moments(columns.shape[1], array.dtype)
        moments.add(columns)
        return {str(j): moments.column(j, as_float) for j in range(columns.shape[1])}
    moments = Moments(1, array.dtype)
    for piece in c_order_pieces(array, any_order=True):  # the order does not matter here
        moments.add(piece.reshape(-1, 1))
    return {"value": moments.column(0, as_float)}


class Scratch:
    """Reusable float64 and bool buffers for `Moments`, shared by the columns of a frame."""

    __slots__ = ("mask", "values")

    def __init__(self) -> None:
        self.values = self.mask = None

    def get(self, rows: int, width: int):
        import numpy as np

        size = rows * width
        if self.values is None or self.values.size < size:
            self.values = np.empty(size, np.float64)
            self.mask = np.empty(size, bool)
        return self.values[:size].reshape(rows, width), self.mask[:size].reshape(rows, width)


class Moments:
    """count, nulls, mean, std (ddof=1, as pandas), min and max of each column of 2-D blocks.

    Blocks are cut into chunks of at most `CHUNK_BYTES` of float64; each chunk's count,
    mean and sum of squared deviations (two passes, in float64 even for integers) are
    merged into the running ones (Chan, Golub and LeVeque), min/max with NaN skipped. The
    temporaries are one chunk and its NaN mask, whatever the size of the data.
    """

    def __init__(self, width: int, dtype: Any, scratch: Scratch | None = None) -> None:
        import numpy as np

        self.width = width
        self.is_float = dtype.kind == "f"
        self.rows = 0
        self.count = np.zeros(width, np.int64)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)
        self.low = self.high = None
        self.scratch = scratch or Scratch()

    def add(self, block: Any) -> None:
        if self.width == 0:
            return
        step = chunk_rows(8 * self.width)
        for start in range(0, block.shape[0], step):
            self._add_chunk(block[start:start + step])

    def _add_chunk(self, chunk: Any) -> None:
        import numpy as np

        rows = chunk.shape[0]
        if rows == 0:
            return
        values, mask = self.scratch.get(rows, self.width)
        nulls = None
        with np.errstate(all="ignore"):
            if self.is_float:
                np.isnan(chunk, out=mask)
                if mask.any():
                    nulls = np.count_nonzero(mask, axis=0)
            if nulls is None:
                count = np.full(self.width, rows, np.int64)
                # einsum: a column sum in float64 (integers too) without a copy, faster than
                # .sum(axis=0) across the rows of a C-ordered block
                mean = np.einsum("ij->j", chunk, dtype=np.float64) / rows
                np.subtract(chunk, mean, out=values)
            else:
                count = rows - nulls
                np.copyto(values, chunk)
                np.copyto(values, 0.0, where=mask)
                mean = np.einsum("ij->j", values) / np.maximum(count, 1)  # 0 for a column all NaN
                values -= mean
                np.copyto(values, 0.0, where=mask)
            m2 = np.einsum("ij,ij->j", values, values)
            if self.is_float:  # fmin/fmax skip NaN
                low, high = np.fmin.reduce(chunk, axis=0), np.fmax.reduce(chunk, axis=0)
            else:
                low, high = chunk.min(axis=0), chunk.max(axis=0)
            if self.low is None:
                self.count, self.mean, self.m2, self.low, self.high = count, mean, m2, low, high
            else:
                total = self.count + count
                share = count / np.maximum(total, 1)
                delta = mean - self.mean
                self.mean = self.mean + delta * share
                self.m2 = self.m2 + m2 + delta * delta * self.count * share
                self.count = total
                minimum, maximum = (np.fmin, np.fmax) if self.is_float else (np.minimum, np.maximum)
                self.low, self.high = minimum(self.low, low), maximum(self.high, high)
        self.rows += rows

    def column(self, j: int, as_float: bool = False) -> dict:
        """The statistics of column `j` as JSON values (None when empty or not finite)."""
        count = int(self.count[j])
        stats: dict[str, Any] = {"count": count, "nulls": self.rows - count}
        if count == 0:
            return {**stats, "mean": None, "std": None, "min": None, "max": None}
        low, high = self.low[j], self.high[j]
        if as_float:
            low, high = float(low), float(high)
        variance = float(self.m2[j]) / (count - 1) if count > 1 else math.nan
        stats["mean"] = stat_json(float(self.mean[j]))
        stats["std"] = stat_json(math.sqrt(variance) if variance >= 0 else math.nan)
        stats["min"] = stat_json(low)
        stats["max"] = stat_json(high)
        return stats


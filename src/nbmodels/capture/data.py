"""Data values: which values are data, and their fingerprint, schema and statistics.

Data is a pandas DataFrame or Series, a NumPy array (any subclass: matrix, memmap, masked),
a SciPy sparse matrix, a torch tensor, an XGBoost `DMatrix` or a LightGBM `Dataset`; the
last four are read in formats.py. Libraries are looked up in `sys.modules`, never imported.
"""

from __future__ import annotations

import uuid

from dataclasses import dataclass
from typing import Any

from . import formats
from .fingerprints import (array_fingerprint, frame_fingerprint, hash_values, header, new_hasher,
                           series_fingerprint)
from .models import is_instance_of, type_name
from .stats import MAX_STATS_COLUMNS, Scratch, array_stats, column_stats


@dataclass(frozen=True)
class DataSummary:
    """Fingerprint (xxh3-128 hex), schema, per-column statistics and in-memory size of data.

    `complete` is False when the fingerprint does not cover the whole content (a LightGBM
    `Dataset` read from a file, content that could not be read): then equal fingerprints do
    not prove equal data, and the schema says what was read under `"content"`.
    """

    fingerprint: str
    type: str
    schema: dict
    stats: dict
    nbytes: int
    complete: bool = True

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint, "type": self.type, "schema": self.schema,
            "stats": self.stats, "nbytes": self.nbytes,
        }


def data_kind(value: Any) -> str | None:
    """"ndarray", "masked", "DataFrame", "Series", "sparse", "Tensor", "DMatrix", "Dataset",
    or None for a value that is not data. Never raises."""
    try:
        if is_instance_of(value, "numpy", "ndarray"):
            return "masked" if is_instance_of(value, "numpy.ma", "MaskedArray") else "ndarray"
        if is_instance_of(value, "pandas", "DataFrame"):
            return "DataFrame"
        if is_instance_of(value, "pandas", "Series"):
            return "Series"
        return formats.kind(value)
    except Exception:  # noqa: BLE001  a hostile value is not data
        return None


def is_data(value: Any) -> bool:
    """Whether `value` is data (see the module docstring)."""
    return data_kind(value) is not None


def summarize_data(value: Any) -> DataSummary:
    """Return the fingerprint, schema, statistics and size of data.

    The fingerprint changes with any cell value, column name, dtype, index or row order,
    and is the same for equal data however it is laid out in memory. Schema and statistics
    are computed once per fingerprint: the same training data read by every cell of a
    session is described once. Raises TypeError for anything `is_data` rejects, nothing
    else: content that cannot be read gets a fingerprint of its own (`complete` False) and
    the reason in its schema.
    """
    kind = data_kind(value)
    if kind is None:
        raise TypeError(f"not data: {type_name(value)}")
    try:
        fingerprint, complete = _fingerprint(kind, value)
    except Exception as exc:  # noqa: BLE001  never lose the run over one unreadable value
        reason = f"content not read: {type(exc).__name__}: {exc}"
        return DataSummary(uuid.uuid4().hex, type_name(value), {"kind": kind, "content": reason},
                           {}, 0, complete=False)
    described = _DESCRIBED.get(fingerprint) if complete else None
    if described is None:
        described = _describe(kind, value)
        if complete:
            if len(_DESCRIBED) >= _DESCRIBED_MAX:
                _DESCRIBED.pop(next(iter(_DESCRIBED)))
            _DESCRIBED[fingerprint] = described
    schema, stats, nbytes = described
    return DataSummary(fingerprint, type_name(value), schema, stats, nbytes, complete)


_DESCRIBED: dict[str, tuple[dict, dict, int]] = {}  # fingerprint -> (schema, stats, nbytes)


_DESCRIBED_MAX = 256


def data_fingerprint(value: Any) -> str:
    """The xxh3-128 content fingerprint of data (see `summarize_data`)."""
    kind = data_kind(value)
    if kind is None:
        raise TypeError(f"not data: {type_name(value)}")
    return _fingerprint(kind, value)[0]


def _fingerprint(kind: str, value: Any) -> tuple[str, bool]:
    if kind == "ndarray":
        return array_fingerprint(_plain(value)), True
    if kind == "masked":
        return _masked_fingerprint(value), True
    if kind == "DataFrame":
        return frame_fingerprint(value), True
    if kind == "Series":
        return series_fingerprint(value), True
    return formats.fingerprint(kind, value, data_fingerprint)


def _describe(kind: str, value: Any) -> tuple[dict, dict, int]:
    try:
        if kind == "ndarray":
            return _describe_array(_plain(value))
        if kind == "masked":
            return _describe_masked(value)
        if kind == "DataFrame":
            return _describe_frame(value)
        if kind == "Series":
            return _describe_series(value)
        return formats.describe(kind, value, _describe_inner)
    except Exception as exc:  # noqa: BLE001  statistics are a nicety: keep the fingerprint
        return {"kind": kind, "error": f"{type(exc).__name__}: {exc}"}, {}, 0


def _describe_inner(value: Any) -> tuple[dict, dict, int]:
    """Describe data held inside another (a LightGBM Dataset's raw data)."""
    return _describe(data_kind(value), value)


def _plain(array: Any) -> Any:
    """A subclass (np.matrix, memmap) as a plain ndarray view: no copy, no subclass rules
    (a matrix stays 2-D when sliced, which the block readers do not expect)."""
    import numpy as np

    return array if type(array) is np.ndarray else np.asarray(array)


def _masked_fingerprint(array: Any) -> str:
    import numpy as np

    data = np.asarray(array.data)
    hasher = new_hasher()
    hasher.update(header("masked", data.dtype.str, list(data.shape)))
    hash_values(hasher, data)
    hash_values(hasher, np.ma.getmaskarray(array))
    return hasher.hexdigest()


def _describe_masked(array: Any) -> tuple[dict, dict, int]:
    import numpy as np

    schema, _, nbytes = _describe_array(np.asarray(array.data))
    schema["masked"] = int(np.ma.count_masked(array))
    if array.dtype.kind in "biuf":
        # Masked values are described as missing: a float copy with NaN in their place.
        stats = array_stats(np.ma.filled(array.astype(np.float64), np.nan))
    else:
        stats = {"value": {"count": int(array.count())}}
    return schema, stats, nbytes


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


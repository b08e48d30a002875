"""Content fingerprints (xxh3-128) of DataFrames, Series and arrays, in bounded memory.
"""

from __future__ import annotations

import json

from typing import Any

from .blocks import c_order_pieces, chunk_rows

class _Hasher:
    """An xxh3-128 state that `hash_values` can roll back when it changes method mid-way."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        import xxhash

        self.state = xxhash.xxh3_128()

    def update(self, data: Any) -> None:
        self.state.update(data)

    def hexdigest(self) -> str:
        return self.state.hexdigest()


def new_hasher() -> _Hasher:
    return _Hasher()


def header(*parts: Any) -> bytes:
    # Length-prefixed so no two different headers hash the same bytes.
    text = json.dumps(parts, default=str).encode()
    return len(text).to_bytes(8, "little") + text


def label(name: Any) -> list[str]:
    return [type(name).__name__, str(name)]


def _update_raw(hasher, array: Any) -> None:
    """Feed the array's bytes in C order, by blocks when it is not contiguous."""
    import numpy as np

    for piece in c_order_pieces(array):
        hasher.update(piece.view(np.uint8))


def _has_raw_dtype(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind in "biufcmM"


def hash_values(hasher, values: Any) -> None:
    """Feed a column's, index's or array's values: raw bytes when numeric, else pandas' hash.

    pandas' hash is per value, so it is fed by blocks of rows: the bytes are those of the
    whole column hashed at once, without a full-length hash array (or object copy).
    """
    import numpy as np

    if isinstance(values, np.ndarray) and not values.dtype.hasobject:
        _update_raw(hasher, values)
        return
    import pandas as pd

    step = chunk_rows(32)  # a hash, a factorize code and more per value
    if isinstance(values, np.ndarray):
        dtype = object if values.dtype.kind == "O" else None
        array = values

        def parts():
            for piece in c_order_pieces(array):
                for start in range(0, len(piece), step):
                    yield pd.Series(piece[start:start + step], dtype=dtype)
    elif _has_raw_dtype(values.dtype) and not isinstance(values, pd.MultiIndex):
        _update_raw(hasher, values.to_numpy())
        return
    else:
        rows = values.iloc if isinstance(values, pd.Series) else values

        def parts():
            for start in range(0, len(values), step):
                yield rows[start:start + step]
    saved = hasher.state.copy()
    try:
        for part in parts():
            hasher.update(pd.util.hash_pandas_object(part, index=False).to_numpy().view(np.uint8))
    except (TypeError, ValueError):
        # Objects pandas cannot hash (lists, dicts) are hashed by their repr; a repr that
        # numpy abbreviates ("...") can miss a change deep inside a nested array.
        hasher.state = saved
        for part in parts():
            reprs = pd.Series([repr(item) for item in part], dtype=object)
            hashed = pd.util.hash_pandas_object(reprs, index=False)
            hasher.update(hashed.to_numpy().view(np.uint8))


def hash_index(hasher, index: Any) -> None:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        hasher.update(header("range", index.start, index.stop, index.step, label(index.name)))
        return
    hasher.update(header(str(index.dtype), len(index), [label(n) for n in index.names]))
    hash_values(hasher, index)


def _column_dtypes(frame: Any) -> list:
    """`list(frame.dtypes)` without the Series `dtypes` builds (~30 µs): from the block
    manager when pandas has the one this was written against."""
    get_dtypes = getattr(getattr(frame, "_mgr", None), "get_dtypes", None)
    if get_dtypes is not None:
        try:
            dtypes = list(get_dtypes())
        except Exception:  # noqa: BLE001  another pandas: the public way
            dtypes = None
        if dtypes is not None and len(dtypes) == frame.shape[1]:
            return dtypes
    return list(frame.dtypes)


def frame_fingerprint(frame: Any) -> str:
    import numpy as np

    hasher = new_hasher()
    dtypes = _column_dtypes(frame)
    dtype_names = {dtype: str(dtype) for dtype in set(dtypes)}  # str(dtype) costs ~15 µs
    hasher.update(header(
        "DataFrame", list(frame.shape),
        # tolist(): iterating an Arrow-backed index costs ~1 µs a label
        [[*label(name), dtype_names[dtype]] for name, dtype in zip(frame.columns.tolist(), dtypes)],
    ))
    hash_index(hasher, frame.index)
    if dtypes and all(dtype == dtypes[0] for dtype in dtypes) and _has_raw_dtype(dtypes[0]):
        # One numeric dtype: the transposed matrix is the columns back to back, without a
        # Python call per column (wide frames). Taken by blocks of columns: the matrix of
        # one block is a view, a frame made of many blocks is copied one chunk at a time.
        step = chunk_rows(len(frame) * dtypes[0].itemsize)
        if getattr(getattr(frame, "_mgr", None), "nblocks", None) == 1:
            step = len(dtypes)  # one block (pandas internals, checked): its matrix is a view
        for start in range(0, len(dtypes), step):
            part = frame.iloc[:, start:start + step] if step < len(dtypes) else frame
            _update_raw(hasher, np.asarray(part.to_numpy()).T)
    else:
        for _, column in frame.items():
            hash_values(hasher, column)
    return hasher.hexdigest()


def series_fingerprint(series: Any) -> str:
    hasher = new_hasher()
    hasher.update(header("Series", len(series), label(series.name), str(series.dtype)))
    hash_index(hasher, series.index)
    hash_values(hasher, series)
    return hasher.hexdigest()


def array_fingerprint(array: Any) -> str:
    hasher = new_hasher()
    hasher.update(header("ndarray", array.dtype.str, list(array.shape)))
    hash_values(hasher, array)
    return hasher.hexdigest()


"""Reading data by blocks of bounded size, shared by fingerprints and statistics.

Statistics and fingerprints read data by blocks of rows (or columns) and allocate about
`CHUNK_BYTES` of temporaries at a time (plus a mask an eighth of it): describing a 1 GiB
array costs a few MiB on top of it, not another GiB of masks, float and contiguous
copies. 1 MiB blocks stay in the CPU cache: faster than 4-32 MiB ones, too.
"""

from __future__ import annotations

import math

from typing import Any

# Statistics and fingerprints read data by blocks of rows (or columns) and allocate about
# this many bytes of temporaries at a time (plus a mask an eighth of it): describing a 1 GiB
# array costs a few MiB on top of it, not another GiB of masks, float and contiguous
# copies. 1 MiB blocks stay in the CPU cache: faster than 4-32 MiB ones, too.
CHUNK_BYTES = 2**20


def chunk_rows(row_bytes: int) -> int:
    """How many rows of `row_bytes` bytes one block holds (at least one)."""
    return max(1, CHUNK_BYTES // max(1, row_bytes))


def c_order_pieces(array: Any, any_order: bool = False):
    """The array's elements as 1-D contiguous arrays: in C order, or in memory order if `any_order`.

    A contiguous array is one view; otherwise blocks of rows (of sub-rows when one row is
    too large) are copied one at a time, each of at most about `CHUNK_BYTES`.
    """
    import numpy as np

    if array.flags.c_contiguous or (any_order and array.flags.f_contiguous):
        yield array.ravel(order="K")
        return
    if array.ndim == 1:
        row_bytes = array.itemsize
    else:
        row_bytes = array.itemsize * math.prod(array.shape[1:])
    if array.ndim > 1 and row_bytes > CHUNK_BYTES:
        for row in array:
            yield from c_order_pieces(row, any_order)
        return
    step = chunk_rows(row_bytes)
    for start in range(0, array.shape[0], step):
        yield np.ascontiguousarray(array[start:start + step]).reshape(-1)


def row_parts(column: Any, row_bytes: int = 8):
    """A Series as consecutive slices (views) of at most about `CHUNK_BYTES`."""
    step = chunk_rows(row_bytes)
    if len(column) <= step:
        yield column
        return
    for start in range(0, len(column), step):
        yield column.iloc[start:start + step]


"""Plain values: which are scalars and small collections (params), numbers, and their JSON form.

Nothing here raises on a hostile value (a `__len__`, `items()` or `__eq__` that raises): a
value that cannot be inspected is simply not a plain value.
"""

from __future__ import annotations

import sys

from typing import Any

MAX_PARAM_ITEMS = 50


# A string longer than this is content (a document, a query result), not a hyperparameter.
MAX_PARAM_CHARS = 10_000


def numpy_module():
    """numpy if the kernel has imported it, else None (then no value can be a numpy one)."""
    return sys.modules.get("numpy")


def is_real_number(value: Any) -> bool:
    """An int or float (Python or NumPy), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    np = numpy_module()
    return np is not None and isinstance(value, (np.integer, np.floating))


def one_number(value: Any) -> Any:
    """The Python number in a 0-d numeric NumPy array or torch tensor (`loss` after
    `loss = criterion(out, y)`), else `value` itself. Never raises."""
    try:
        if getattr(value, "ndim", None) != 0 or isinstance(value, (int, float)):
            return value
        np, torch = numpy_module(), sys.modules.get("torch")
        numeric = ((np is not None and isinstance(value, np.ndarray) and value.dtype.kind in "iuf")
                   or (torch is not None and isinstance(value, torch.Tensor)
                       and not value.dtype.is_complex and value.dtype != torch.bool))
        return value.item() if numeric else value
    except Exception:  # noqa: BLE001  a meta tensor, a hostile ndim
        return value


def is_scalar(value: Any) -> bool:
    """None, a bool, int, float or a string of at most `MAX_PARAM_CHARS` (Python or NumPy)."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return str.__len__(value) <= MAX_PARAM_CHARS  # not a subclass's own __len__
    np = numpy_module()
    return np is not None and isinstance(value, (np.bool_, np.integer, np.floating, np.str_))


def is_param_value(value: Any, any_keys: bool = False) -> bool:
    """A scalar, or a small list/tuple/set/dict of scalars (dict keys str unless `any_keys`).

    Never raises: a collection whose `__len__`, iteration or `items()` raises is not one.
    """
    try:
        if is_scalar(value):
            return True
        if isinstance(value, (list, tuple, set, frozenset)):
            return len(value) <= MAX_PARAM_ITEMS and all(is_scalar(item) for item in value)
        if isinstance(value, dict):
            return len(value) <= MAX_PARAM_ITEMS and all(
                (is_scalar(key) if any_keys else isinstance(key, str)) and is_scalar(item)
                for key, item in value.items()
            )
    except Exception:  # noqa: BLE001  a hostile container is simply not a param
        return False
    return False


def json_value(value: Any) -> Any:
    """Return `value` made JSON-safe: numpy scalars as Python, tuples as lists, recursively.

    A set becomes a sorted list (see `sorted_set`). NaN and infinities are kept as floats:
    how they are written out is the store's business, dropping them here would lose them.
    """
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [json_value(item) for item in sorted_set(value)]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    np = numpy_module()
    if np is not None and isinstance(value, np.generic):
        return value.item()
    return one_number(value)


def sorted_set(items: Any) -> list:
    """The items of a set in a stable order: numbers ascending (NaN last), then strings,
    then anything else (None, booleans) by `repr`. Set iteration order depends on hashes
    (NaN's is its id), so sorting makes equal sets store equal lists."""
    return sorted(items, key=_set_order)


def _set_order(item: Any) -> tuple:
    if is_real_number(item):
        return (0, 1, 0, "") if item != item else (0, 0, item, "")  # NaN != NaN
    if isinstance(item, str):
        return (1, 0, 0, item)
    return (2, 0, 0, repr(item))

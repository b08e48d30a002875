"""Plain values: which are scalars and small collections (params), numbers, and their JSON form.
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
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    np = numpy_module()
    return np is not None and isinstance(value, (np.integer, np.floating))


def is_scalar(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_PARAM_CHARS
    np = numpy_module()
    return np is not None and isinstance(value, (np.bool_, np.integer, np.floating, np.str_))


def is_param_value(value: Any, any_keys: bool = False) -> bool:
    """A scalar, or a small list/tuple/dict of scalars (dict keys str unless `any_keys`)."""
    if is_scalar(value):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) <= MAX_PARAM_ITEMS and all(is_scalar(item) for item in value)
    if isinstance(value, dict):
        return len(value) <= MAX_PARAM_ITEMS and all(
            (is_scalar(key) if any_keys else isinstance(key, str)) and is_scalar(item)
            for key, item in value.items()
        )
    return False


def json_value(value: Any) -> Any:
    """Return `value` made JSON-safe: numpy scalars as Python, tuples as lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    np = numpy_module()
    if np is not None and isinstance(value, np.generic):
        return value.item()
    return value


"""The cells of a comparison: equality for diffs, numbers, and the shared frame shapes
(values per label, with `changed` flags, or deltas and better/worse marks)."""

from __future__ import annotations

import math
from typing import Any

BETTER, WORSE, SAME = "better", "worse", "same"


MISSING = object()


def none_if_missing(value):
    return None if value is MISSING else value


def same(a, b) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1 in Python, not in a diff
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # values whose == is not a bool
        return False


def all_same(values: list) -> bool:
    return all(same(values[0], v) for v in values[1:]) if values else True


def as_number(value) -> float | None:
    """A value as a float; None when it is missing, NaN or not a number."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def delta_frame(values: dict[str, list], labels: list[str], index_name: str,
                 unmarked: set = frozenset()):
    """Values per label, then `delta <label>` and `change <label>` against the first label,
    `lower_is_better` and `best`."""
    import pandas as pd

    from ..registry import lower_is_better

    keys = list(values)
    numbers = {k: [as_number(v) for v in values[k]] for k in keys}
    data: dict[str, Any] = {label: [numbers[k][i] for k in keys] for i, label in enumerate(labels)}
    frame = pd.DataFrame(data, index=keys, dtype=float)
    lower = {k: lower_is_better(k) for k in keys}
    for i, label in enumerate(labels[1:], start=1):
        frame[f"delta {label}"] = [
            None if numbers[k][0] is None or numbers[k][i] is None else numbers[k][i] - numbers[k][0]
            for k in keys]
        frame[f"delta {label}"] = frame[f"delta {label}"].astype(float)
    for i, label in enumerate(labels[1:], start=1):
        frame[f"change {label}"] = pd.Series(
            ["" if k in unmarked else _mark(numbers[k][0], numbers[k][i], lower[k]) for k in keys],
            index=keys, dtype=object)
    frame["lower_is_better"] = pd.Series([lower[k] for k in keys], index=keys, dtype=bool)
    frame["best"] = pd.Series(["" if k in unmarked else _best(numbers[k], labels, lower[k])
                               for k in keys], index=keys, dtype=object)
    frame.index.name = index_name
    return frame


def _mark(first: float | None, other: float | None, lower: bool) -> str:
    if first is None or other is None:
        return ""
    if other == first:
        return SAME
    return BETTER if (other < first) == lower else WORSE


def _best(numbers: list, labels: list[str], lower: bool) -> str:
    present = [(n, label) for n, label in zip(numbers, labels) if n is not None]
    if len(present) < 2 or len({n for n, _ in present}) == 1:
        return ""
    return (min if lower else max)(present, key=lambda p: p[0])[1]


def label_frame(labels, keys, cells, index_names):
    import pandas as pd

    if isinstance(index_names, tuple):
        index = pd.MultiIndex.from_tuples(keys, names=list(index_names)) if keys else \
            pd.MultiIndex.from_tuples([], names=list(index_names))
    else:
        index = pd.Index(keys, name=index_names, dtype=object)
    return pd.DataFrame({label: pd.Series([cells[k][i] for k in keys], index=index, dtype=object)
                         for i, label in enumerate(labels)}, index=index, dtype=object)


def changed_frame(labels, keys, cells, index_names, known: list[int]):
    import pandas as pd

    frame = label_frame(labels, keys, cells, index_names)
    frame["changed"] = pd.Series([not all_same([cells[k][i] for i in known]) for k in keys],
                                 index=frame.index, dtype=bool)
    return frame

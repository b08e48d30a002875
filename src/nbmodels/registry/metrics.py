"""Which metric a listing shows first, and which way a metric is better."""

from __future__ import annotations

import math
from typing import Any

_LOWER_IS_BETTER = ("loss", "error", "err", "rmse", "mse", "mae", "logloss", "mape")

_KEY_METRICS = ("accuracy", "acc", "f1", "roc_auc", "auc", "r2", "rmse", "mae", "loss")


def key_metric(metrics: dict) -> str | None:
    """The metric to show first: a well-known one if present, else the first."""
    for wanted in _KEY_METRICS:
        for name in metrics:
            if wanted in name.lower().split("_") or name.lower() == wanted:
                return name
    return next(iter(metrics), None)


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is better (losses and errors)."""
    parts = metric.lower().replace("-", "_").split("_")
    return any(p in _LOWER_IS_BETTER for p in parts)


def verdict(metric: str, value: Any, other: Any) -> str:
    """`better`, `worse` or `same` for `value` against `other` on `metric` (lower is better
    for losses and errors); empty when either is not a finite number."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in (value, other)):
        return ""
    if value == other:
        return "same"
    better = value < other if lower_is_better(metric) else value > other
    return "better" if better else "worse"

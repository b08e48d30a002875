"""The role of a captured value: model, param, metric, data or other.
"""

from __future__ import annotations

import re

from typing import Any, Collection

from .data import is_data
from .models import is_model
from .values import is_param_value, is_real_number

ROLES = ("model", "param", "metric", "data", "other")


_METRIC_WORDS = frozenset({
    "accuracy", "acc", "score", "f1", "f2", "fbeta", "auc", "roc_auc", "precision",
    "recall", "loss", "rmse", "mse", "mae", "r2", "logloss", "error", "err", "mape",
    "smape", "rmsle", "msle", "medae", "ap", "ndcg", "map", "mrr", "iou", "dice", "kappa",
    "mcc", "brier", "gini", "perplexity", "ppl", "bleu", "rouge", "wer", "cer",
    "specificity", "sensitivity", "tpr", "fpr", "tnr", "fnr", "top1", "top5",
})


# Parts that make a metric-looking name a setting: `loss_fn`, `loss_weight`, `score_threshold`.
_NOT_METRIC_WORDS = frozenset({
    "fn", "fns", "func", "function", "weight", "weights", "threshold", "thresh", "tol",
    "tolerance", "name", "names", "type", "kind", "list", "history", "hist", "curve",
    "fig", "plot", "ax", "path", "file", "dir", "col", "cols", "column", "columns",
})


_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def role_of(name: str, value: Any, params: Collection[str] = (), metrics: Collection[str] = ()) -> str:
    """Return the role of a captured value: "model", "param", "metric", "data" or "other".

    Names listed in `params` / `metrics` (from `--params` / `--metrics`) win; then models,
    data, numbers with metric-like names, and small scalar values as params.
    """
    if name in params:
        return "param"
    if name in metrics:
        return "metric"
    if is_model(value):
        return "model"
    if is_data(value):
        return "data"
    if is_metric_name(name) and is_real_number(value):
        return "metric"
    if is_param_value(value):
        return "param"
    return "other"


def is_metric_name(name: str) -> bool:
    """Whether `name` looks like a metric: a metric word as the whole name or one of its parts.

    Parts are split on `_`, camelCase and digits (`val_loss`, `testAcc`, `f1score`,
    `r2_test`); `accumulate` is not `acc`. A part like `fn`, `weight` or `threshold` marks a
    setting (`loss_fn`, `score_threshold`), which is not a metric.
    """
    words = set()
    for part in _CAMEL_RE.sub("_", name).lower().split("_"):
        if part:
            words.add(part)
            words.update(re.findall(r"[a-z]+\d*", part))  # f1score -> f1, score
            words.update(re.findall(r"[a-z]+", part))
    if words & _NOT_METRIC_WORDS:
        return False
    return bool(words & _METRIC_WORDS)


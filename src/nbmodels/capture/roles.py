"""The role of a captured value: model, param, metric, data or other.
"""

from __future__ import annotations

import functools
import re

from typing import Any, Collection

from .data import is_data
from .models import is_model
from .values import is_param_value, is_real_number, one_number

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


_PLAIN_SCALARS = frozenset({int, float, bool, str, type(None)})
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def role_of(name: str, value: Any, params: Collection[str] = (), metrics: Collection[str] = (),
            computed: Collection[str] = ()) -> str:
    """Return the role of a captured value: "model", "param", "metric", "data" or "other".

    Names listed in `params` / `metrics` (from `--params` / `--metrics`) win; then models,
    numbers with metric-like names (0-d tensors and arrays too), data, and plain values (scalars, small lists, sets and
    dicts of them) as params, unless the cell computed them (`CellNames.computed`: loop
    variables, loop counters, clock and plot readings), which are "other". Never raises:
    a value that cannot be inspected is "other".
    """
    if name in params:
        return "param"
    if name in metrics:
        return "metric"
    if type(value) in _PLAIN_SCALARS:  # most of a cell's names: no model or data to look for
        if is_real_number(value) and is_metric_name(name):
            return "metric"
        return "param" if name not in computed and is_param_value(value) else "other"
    try:
        if is_model(value):
            return "model"
        if is_metric_name(name) and is_real_number(one_number(value)):
            return "metric"  # also a 0-d tensor or array: `loss` of a training loop
        if is_data(value):
            return "data"
        if name not in computed and is_param_value(value):
            return "param"
    except Exception:  # noqa: BLE001  a hostile value: stored (or not) as an object
        return "other"
    return "other"


@functools.lru_cache(maxsize=4096)  # a notebook's names recur from run to run
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


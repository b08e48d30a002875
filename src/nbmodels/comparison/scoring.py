"""Models loaded for a comparison: scores on given data and feature importance."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidInputError


def is_classifier(model: Any) -> bool:
    """Whether a model classifies (sklearn's `is_classifier`, else `predict_proba`)."""
    try:
        from sklearn.base import is_classifier as sk_is_classifier

        if sk_is_classifier(model):
            return True
    except Exception:  # sklearn missing, or a model sklearn's tags cannot read
        pass
    if getattr(model, "_estimator_type", None) == "classifier":
        return True
    return hasattr(model, "predict_proba") and hasattr(model, "classes_")


def model_features(model: Any, X):
    """X restricted to the model's own input columns when it names them (so two versions
    trained on different columns can be scored on one frame). Raises `InvalidInputError`
    when X lacks a column the model needs."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X
    missing = [str(n) for n in names if n not in X.columns]
    if missing:
        raise InvalidInputError(f"X lacks column(s) the model needs: {', '.join(missing[:5])}")
    return X[list(names)]


def score_model(model: Any, X, y_true, label: str = "model") -> tuple[dict, Any]:
    """Task-appropriate scores of `model` on (X, y) and its predictions."""
    import numpy as np
    from sklearn import metrics as skm

    if not hasattr(model, "predict"):
        raise InvalidInputError(f"{label}: cannot score a {type(model).__name__}: it has no "
                                "predict()")
    features = model_features(model, X)
    predicted = np.asarray(model.predict(features))
    if is_classifier(model):
        labels = np.unique(np.concatenate([np.unique(y_true), np.unique(predicted)]))
        binary = len(np.unique(y_true)) <= 2 and len(labels) <= 2
        scores = {"accuracy": float(skm.accuracy_score(y_true, predicted))}
        if binary:
            scores["f1"] = float(skm.f1_score(y_true, predicted, pos_label=_positive(labels)))
        else:
            scores["f1_macro"] = float(skm.f1_score(y_true, predicted, average="macro"))
        if hasattr(model, "predict_proba"):
            scores["roc_auc"] = _roc_auc(model, features, y_true, binary)
        return scores, predicted
    predicted = predicted.astype(float).reshape(len(y_true), -1).squeeze()
    return {"rmse": float(math.sqrt(skm.mean_squared_error(y_true, predicted))),
            "mae": float(skm.mean_absolute_error(y_true, predicted)),
            "r2": float(skm.r2_score(y_true, predicted))}, predicted


def _positive(labels) -> Any:
    """sklearn's default positive label 1 when present, else the larger label."""
    values = list(labels)
    return 1 if 1 in values else values[-1]


def _roc_auc(model, features, y_true, binary: bool) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    try:
        proba = np.asarray(model.predict_proba(features))
        classes = list(getattr(model, "classes_", range(proba.shape[1])))
        if binary:
            column = classes.index(_positive(classes)) if len(classes) == 2 else -1
            return float(roc_auc_score(y_true, proba[:, column]))
        return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    except ValueError:  # e.g. one class only in y
        return math.nan


def disagreement(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return 0.0
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        differ = ~np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=0, equal_nan=True)
    else:
        differ = a != b
    return float(np.mean(differ))


def feature_importance(model: Any, limit: int | None = None) -> dict[str, float] | None:
    """Feature name -> importance from `feature_importances_` or `coef_` (the final step of a
    pipeline), or None when the model exposes neither. With `limit`, only the `limit` largest
    by magnitude, picked in numpy: a model with millions of coefficients costs one array,
    not a dict of millions of floats."""
    import numpy as np

    final = model
    if hasattr(model, "steps") and model.steps:
        final = model.steps[-1][1]
    values = _forest_importances(final)
    if values is None:
        values = getattr(final, "feature_importances_", None)
    if values is None:
        coef = getattr(final, "coef_", None)
        if coef is None:
            return None
        coef = np.asarray(coef, dtype=float)
        values = coef.ravel() if coef.ndim == 1 or coef.shape[0] == 1 else np.abs(coef).mean(0)
    try:
        values = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    kept = np.arange(len(values)) if limit is None else _largest(values, limit)
    names = _feature_names(model, final, len(values))
    return {(str(names[i]) if names is not None else f"x{i}"): float(values[i]) for i in kept}


def _forest_importances(model: Any) -> Any:
    """A forest's `feature_importances_` as scikit-learn computes it (the mean of its trees'
    normalized importances, normalized), tree by tree: scikit-learn's own property starts a
    joblib thread pool (`n_jobs`) that costs 30-40 ms for 100 small trees, 1 ms this way."""
    import numpy as np

    trees = getattr(model, "estimators_", None)
    if not isinstance(trees, list) or not trees or not all(hasattr(t, "tree_") for t in trees):
        return None
    # `tree.feature_importances_` is this call behind a fitted check costing 10x more
    found = [tree.tree_.compute_feature_importances() for tree in trees
             if tree.tree_.node_count > 1]
    if not found:
        return np.zeros(model.n_features_in_, dtype=np.float64)
    mean = np.mean(found, axis=0, dtype=np.float64)
    return mean / np.sum(mean)


_BLOCK = 2**17  # values per block: 1 MiB of float64


def _largest(values: Any, limit: int) -> Any:
    """Indices of the `limit` values largest in magnitude (NaN counts as 0), largest first,
    found block by block so that the temporaries stay about 1 MiB whatever the size."""
    import numpy as np

    best_index = np.empty(0, np.int64)
    best_size = np.empty(0)
    for start in range(0, len(values), _BLOCK):
        block = np.nan_to_num(np.abs(values[start:start + _BLOCK]), nan=0.0)
        index = np.concatenate([best_index, np.arange(start, start + len(block))])
        size = np.concatenate([best_size, block])
        if len(size) > limit:
            top = np.argpartition(size, len(size) - limit)[-limit:]
            index, size = index[top], size[top]
        best_index, best_size = index, size
    return best_index[np.argsort(-best_size, kind="stable")]


def _feature_names(model, final, count: int) -> Any:
    candidates = [getattr(final, "feature_names_in_", None), getattr(model, "feature_names_in_", None),
                  getattr(final, "feature_name_", None)]
    booster = getattr(final, "get_booster", None)
    if booster is not None:
        try:
            candidates.append(booster().feature_names)
        except Exception:  # an unfitted or foreign booster
            pass
    if hasattr(model, "steps") and len(model.steps) > 1:
        try:
            candidates.append(model[:-1].get_feature_names_out())
        except Exception:  # a step without get_feature_names_out
            pass
    for names in candidates:
        if names is not None and len(names) == count:
            return names
    return None

"""Models: what is a trained model, its hyperparameters and the inputs it accepts.

Imports only libraries the kernel has already imported: a value's library is looked up in
`sys.modules`, and a library the kernel has not imported cannot have made the value.
"""

from __future__ import annotations

import sys
import types

from typing import Any

from .values import is_param_value, json_value

def module_attr(module: str, name: str) -> Any:
    """`module.name` if `module` is already imported, else None; never imports it."""
    try:
        return getattr(sys.modules.get(module), name, None)
    except Exception:  # a lazy module attribute that fails to load
        return None


def _sklearn_fitted(value: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(value)
    except (NotFittedError, TypeError, AttributeError):
        return False
    return True


def is_model(value: Any) -> bool:
    """Whether `value` is a trained model.

    scikit-learn estimators and pipelines (and XGBoost/LightGBM's scikit-learn wrappers)
    only once fitted; XGBoost and LightGBM boosters; PyTorch modules; Keras models; else
    any instance with callable `fit` and `predict`. Classes are never models. Imports only
    libraries the kernel has already imported.
    """
    if isinstance(value, type):
        return False
    boosters = tuple(
        cls for cls in (module_attr("xgboost", "Booster"), module_attr("lightgbm", "Booster"))
        if cls is not None
    )
    if boosters and isinstance(value, boosters):
        return True
    base_estimator = module_attr("sklearn.base", "BaseEstimator")
    if base_estimator is not None and isinstance(value, base_estimator):
        # A fitted scaler or encoder is a step, not a model: it has no predict. An
        # unfitted estimator has fit/predict, yet is no model either.
        return _has_fit_and_predict(value) and _sklearn_fitted(value)
    frameworks = tuple(
        cls for cls in (
            module_attr("torch.nn", "Module"),
            module_attr("keras", "Model"),
            module_attr("tensorflow.keras", "Model"),
        )
        if cls is not None
    )
    if frameworks and isinstance(value, frameworks):
        return True
    return _has_fit_and_predict(value)


def _has_fit_and_predict(value: Any) -> bool:
    try:
        return callable(getattr(value, "fit", None)) and callable(getattr(value, "predict", None))
    except Exception:  # a property or __getattr__ that raises
        return False


def model_params(model: Any) -> dict:
    """Return the model's hyperparameters as a JSON-safe dict; {} when it has none.

    Uses `get_params(deep=False)`; for a scikit-learn Pipeline `deep=True`, keeping the
    steps' scalar settings (`clf__C`) and naming nested estimators by their class. A
    LightGBM Booster gives its `params`; torch modules and XGBoost boosters give {}.
    """
    try:
        if is_instance_of(model, "lightgbm", "Booster"):
            params = dict(model.params or {})
        elif callable(getattr(model, "get_params", None)):
            deep = is_instance_of(model, "sklearn.pipeline", "Pipeline")
            params = model.get_params(deep=deep)
        else:
            return {}
    except Exception:
        return {}
    result = {}
    for key, value in params.items():
        safe = _param_json(value)
        if safe is not _DROP:
            result[str(key)] = safe
    return result


_DROP = object()


def _param_json(value: Any) -> Any:
    # Hyperparameter dicts may have non-str keys (`class_weight={0: 1, 1: 2}`): JSON makes them str.
    if is_param_value(value, any_keys=True):
        return json_value(value)
    if isinstance(value, (list, tuple, dict)):  # a Pipeline's `steps`: told by the step keys
        return _DROP
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return value.__qualname__
    return short_type_name(value)  # a nested estimator, a scorer, a RandomState...


def is_instance_of(value: Any, module: str, name: str) -> bool:
    cls = module_attr(module, name)
    return cls is not None and isinstance(value, cls)


def model_signature(model: Any) -> dict | None:
    """Return `{"features": [...] | None, "n_features": int | None}` the model takes, or None.

    From `feature_names_in_` / `n_features_in_` (scikit-learn, and the XGBoost and
    LightGBM wrappers), the boosters' own feature names and counts, or the `in_features`
    / `in_channels` of a torch module's first layer that has one. Never raises.
    """
    try:
        features, n_features = _signature(model)
    except Exception:
        return None
    if features is not None:
        features = [str(name) for name in features]
        n_features = n_features if n_features is not None else len(features)
    if features is None and n_features is None:
        return None
    return {"features": features, "n_features": int(n_features) if n_features is not None else None}


def _signature(model: Any) -> tuple[list | None, int | None]:
    features = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    if features is not None:
        return list(features), n_features
    if is_instance_of(model, "xgboost", "XGBModel"):
        model = model.get_booster()
    if is_instance_of(model, "xgboost", "Booster"):
        return model.feature_names, model.num_features()
    if is_instance_of(model, "lightgbm", "LGBMModel"):
        model = model.booster_
    if is_instance_of(model, "lightgbm", "Booster"):
        names = model.feature_name()
        # LightGBM names unnamed (numpy) inputs Column_0..; those are not real names.
        if names == [f"Column_{i}" for i in range(len(names))]:
            names = None
        return names, model.num_feature()
    if is_instance_of(model, "torch.nn", "Module"):
        return None, _torch_input_size(model)
    return None, n_features


def _torch_input_size(module: Any) -> int | None:
    for layer in module.modules():
        for attribute in ("in_features", "in_channels", "input_size"):
            size = getattr(layer, attribute, None)
            if isinstance(size, int):
                return size
    return None


def type_name(value: Any) -> str:
    """Return `module.QualName` of the value's type (`sklearn.linear_model._logistic.LogisticRegression`)."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def short_type_name(value: Any) -> str:
    """Return the qualified name of the value's type without its module (`LogisticRegression`)."""
    return type(value).__qualname__


"""Models: what is a trained model, its hyperparameters and the inputs it accepts.

Imports only libraries the kernel has already imported: a value's library is looked up in
`sys.modules`, and a library the kernel has not imported cannot have made the value.
Nothing here raises on a hostile value: a value that cannot be inspected is not a model.
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


def is_instance_of(value: Any, module: str, name: str) -> bool:
    """`isinstance(value, module.name)` if `module` is imported; False otherwise or if it raises."""
    cls = module_attr(module, name)
    try:
        return cls is not None and isinstance(value, cls)
    except Exception:  # noqa: BLE001  a `__class__` property that raises
        return False


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

    Every fitted scikit-learn estimator (predictors, pipelines, transformers, clusterers,
    decompositions, feature selectors, searches; XGBoost/LightGBM wrappers too); XGBoost
    and LightGBM boosters; PyTorch modules that have parameters, except loss functions;
    Keras models; else any instance with callable `fit` and `predict`. Classes, unfitted
    estimators, losses, metrics and optimizers are not models. Never raises.
    """
    try:
        return _is_model(value)
    except Exception:  # noqa: BLE001  a hostile value is not a model
        return False


def _is_model(value: Any) -> bool:
    if isinstance(value, type):
        return False
    if is_instance_of(value, "xgboost", "Booster") or is_instance_of(value, "lightgbm", "Booster"):
        return True
    if is_instance_of(value, "sklearn.base", "BaseEstimator"):
        return _sklearn_fitted(value)
    if is_instance_of(value, "torch.nn", "Module"):
        # A loss, an activation or a metric module learns nothing: no parameters.
        if is_instance_of(value, "torch.nn.modules.loss", "_Loss"):
            return False
        return next(iter(value.parameters()), None) is not None
    if is_instance_of(value, "keras", "Model") or is_instance_of(value, "tensorflow.keras", "Model"):
        return True
    return _has_fit_and_predict(value)


def _has_fit_and_predict(value: Any) -> bool:
    try:
        return callable(getattr(value, "fit", None)) and callable(getattr(value, "predict", None))
    except Exception:  # a property or __getattr__ that raises
        return False


def can_predict(model: Any) -> bool:
    """Whether a model makes predictions: `predict` (a search only once refit), or a network."""
    if is_instance_of(model, "torch.nn", "Module"):
        return True
    try:
        return callable(getattr(model, "predict", None))
    except Exception:  # noqa: BLE001  `available_if` raising something else than AttributeError
        return False


def model_params(model: Any) -> dict:
    """Return the model's hyperparameters as a JSON-safe dict; {} when it has none.

    Uses `get_params(deep=False)`; for a scikit-learn Pipeline `deep=True`, keeping the
    steps' scalar settings (`clf__C`) and naming nested estimators by their class. A
    LightGBM Booster gives its `params`; torch modules and XGBoost boosters give {}.
    A set is stored as its sorted values, None as None (distinct from an absent key).
    """
    try:
        if is_instance_of(model, "lightgbm", "Booster"):
            params = dict(model.params or {})
        elif callable(getattr(model, "get_params", None)):
            deep = is_instance_of(model, "sklearn.pipeline", "Pipeline")
            params = model.get_params(deep=deep)
        else:
            return {}
        result = {}
        for key, value in params.items():
            safe = _param_json(value)
            if safe is not _DROP:
                result[str(key)] = safe
        return result
    except Exception:  # noqa: BLE001  a get_params that raises: no params, not a lost run
        return {}


_DROP = object()


def _param_json(value: Any) -> Any:
    # Hyperparameter dicts may have non-str keys (`class_weight={0: 1, 1: 2}`): JSON makes them str.
    if is_param_value(value, any_keys=True):
        return json_value(value)
    if isinstance(value, (list, tuple, dict, set, frozenset)):  # a Pipeline's `steps`: told by the step keys
        return _DROP
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return value.__qualname__
    return short_type_name(value)  # a nested estimator, a scorer, a RandomState...


def model_signature(model: Any) -> dict | None:
    """Return `{"features": [...] | None, "n_features": int | None}` the model takes, or None.

    From `feature_names_in_` / `n_features_in_` (scikit-learn, and the XGBoost and
    LightGBM wrappers), the boosters' own feature names and counts, or the `in_features`
    / `in_channels` of a torch module's first layer that has one. Never raises.
    """
    try:
        features, n_features = _signature(model)
        if features is not None:
            features = [str(name) for name in features]
            n_features = n_features if n_features is not None else len(features)
        if features is None and n_features is None:
            return None
        return {"features": features, "n_features": int(n_features) if n_features is not None else None}
    except Exception:  # noqa: BLE001
        return None


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


# How many of a network's parameter tensors have a few values sampled by `training_state`:
# a training step changes every parameter, so a few spread over the network suffice.
_SAMPLED_TENSORS = 4
_SAMPLED_VALUES = 16


def training_state(value: Any) -> tuple | None:
    """A cheap token of a model's learned state, to tell whether a cell trained it in place.

    For a torch module: each parameter's version counter and data pointer (an optimizer
    step or `p -= lr * p.grad` under `no_grad` bumps the version; `p.data = ...` moves the
    pointer) and a few sampled values of some of them (`p.data.add_(...)` bumps neither).
    For a scikit-learn estimator: its fitted attributes (`coef_`, ..., `_Booster`), by
    identity. None for anything else, or when the value cannot be inspected.
    """
    try:
        if is_instance_of(value, "torch.nn", "Module"):
            return ("torch", _torch_state(value))
        if is_instance_of(value, "sklearn.base", "BaseEstimator"):
            return ("fitted", tuple((key, item) for key, item in vars(value).items()
                                    if key.endswith("_") or key == "_Booster"))
    except Exception:  # noqa: BLE001  a module whose parameters cannot be listed
        return None
    return None


def same_training_state(before: tuple | None, after: tuple | None) -> bool:
    """Whether two `training_state` tokens show the same learned state."""
    if before is None or after is None or before[0] != after[0]:
        return before is None and after is None
    if before[0] == "torch":
        return before[1] == after[1]
    return len(before[1]) == len(after[1]) and all(
        key == other_key and item is other_item
        for (key, item), (other_key, other_item) in zip(before[1], after[1]))


def _torch_state(module: Any) -> tuple:
    parameters = _parameters(module)
    spread = max(1, len(parameters) // _SAMPLED_TENSORS)
    return tuple(
        (p._version, p.data_ptr(), _sample(p) if i % spread == 0 or i == len(parameters) - 1 else b"")
        for i, p in enumerate(parameters))


def _parameters(module: Any) -> list:
    """The module's parameter tensors, in a fixed order: `module.parameters()` without its
    generator machinery, 4x faster on a network of hundreds of layers."""
    found, seen, stack = [], set(), [module]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found.extend(p for p in current._parameters.values() if p is not None)
        stack.extend(reversed(current._modules.values()))
    return found


def _sample(tensor: Any) -> bytes:
    try:
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // _SAMPLED_VALUES)
        # double holds every float and int dtype exactly: no update is rounded away
        return flat[::step][:_SAMPLED_VALUES].double().cpu().numpy().tobytes()
    except Exception:  # noqa: BLE001  complex, meta or quantized tensors: versions only
        return b""

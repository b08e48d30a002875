"""Which captured models contain others (a pipeline its steps, a search its refit model),
and the default model of a run: the one `%register` takes when no variable is named.
"""

from __future__ import annotations

import types

from typing import Any

from .models import can_predict, is_model, module_attr

# Bounds of the walk through a model's attributes: a pipeline inside a search inside a
# dict is 6 levels down; a forest of 1,000 trees is ~20,000 attributes.
_MAX_DEPTH = 6
_MAX_VISITS = 50_000
_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None), type,
           types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def top_level_models(values: dict[str, Any]) -> list[str]:
    """The names of the models in `values` that no other model in `values` contains, sorted.

    A pipeline contains its steps, a search its `best_estimator_`, a fitted XGBoost or
    LightGBM wrapper its booster, a network its layers: only the outer one is listed, so
    its hyperparameters are recorded once. Two names of one object are both listed.
    """
    models = {name: value for name, value in values.items() if is_model(value)}
    ids = {id(value) for value in models.values()}
    inner: set[int] = set()
    for value in models.values():
        inner |= _reachable(value, ids - {id(value)} - inner)
    return sorted(name for name, value in models.items() if id(value) not in inner)


def default_model(values: dict[str, Any]) -> str | None:
    """The name of the model `%register` takes by default from a run's captured `values`.

    The model no other captured model contains that can predict (the pipeline, not its
    steps; the search, which predicts with its refit `best_estimator_`, not that estimator).
    When none of those can predict (a PCA, a clusterer alone), the one top-level model.
    None when there is no model or several candidates are different objects (ambiguous).
    """
    top = top_level_models(values)
    pool = [name for name in top if can_predict(values[name])] or top
    if not pool or len({id(values[name]) for name in pool}) > 1:
        return None
    return pool[0]


def _reachable(root: Any, targets: set[int]) -> set[int]:
    """Which of the object ids `targets` can be reached from `root` through attributes,
    list/tuple/set items and dict values, within bounds."""
    found: set[int] = set()
    if not targets:
        return found
    seen = {id(root)}
    stack = [(root, 0)]
    visits = 0
    leaves = _LEAVES + _data_types()
    while stack and visits < _MAX_VISITS and found != targets:
        value, depth = stack.pop()
        for child in _children(value):
            visits += 1
            if id(child) in seen:
                continue
            seen.add(id(child))
            if id(child) in targets:
                found.add(id(child))
            if depth < _MAX_DEPTH and not isinstance(child, leaves):
                stack.append((child, depth + 1))
    return found


def _children(value: Any) -> list:
    try:
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, (list, tuple, set, frozenset)):
            return list(value)
        return list(object.__getattribute__(value, "__dict__").values())
    except Exception:  # noqa: BLE001  no __dict__ (slots, C types) or a hostile container
        return []


def _data_types() -> tuple[type, ...]:
    # Arrays, frames and tensors hold numbers, never a model: not worth walking.
    found = (module_attr(module, name) for module, name in (
        ("numpy", "ndarray"), ("pandas", "DataFrame"), ("pandas", "Series"), ("torch", "Tensor")))
    return tuple(cls for cls in found if isinstance(cls, type))

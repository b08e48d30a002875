"""What a tracked cell bound and read, the role of each value, data fingerprints, environment.

Everything here takes plain values (a namespace dict, a source string, a folder), never a
shell, so the magics, the registry and the tests call the same functions. Importing this
module imports no ML library, no pandas and no IPython: a value's library is looked up in
`sys.modules`, and a library the kernel has not imported cannot have made the value.
"""

from __future__ import annotations

import ast
import datetime
import getpass
import importlib.metadata
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterable

ROLES = ("model", "param", "metric", "data", "other")

FIT_METHODS = frozenset({"fit", "fit_transform", "partial_fit", "fit_predict", "train"})

MAX_PARAM_ITEMS = 50
# A string longer than this is content (a document, a query result), not a hyperparameter.
MAX_PARAM_CHARS = 10_000
MAX_STATS_COLUMNS = 200
MAX_ARRAY_STATS_COLUMNS = 100
MAX_TOP_CHARS = 200
GIT_TIMEOUT_S = 2.0

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

# Top-level module name -> distribution name, for the packages that decide whether a saved
# model loads and behaves the same.
WATCHED_PACKAGES = {
    "numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "sklearn": "scikit-learn",
    "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost", "torch": "torch",
    "torchvision": "torchvision", "tensorflow": "tensorflow", "keras": "keras",
    "jax": "jax", "joblib": "joblib", "cloudpickle": "cloudpickle", "statsmodels": "statsmodels",
    "polars": "polars", "pyarrow": "pyarrow", "transformers": "transformers",
    "tokenizers": "tokenizers", "sentence_transformers": "sentence-transformers",
    "imblearn": "imbalanced-learn", "category_encoders": "category_encoders",
    "optuna": "optuna", "skorch": "skorch", "lightning": "lightning",
    "pytorch_lightning": "pytorch-lightning", "onnxruntime": "onnxruntime", "numba": "numba",
    "prophet": "prophet", "sktime": "sktime", "shap": "shap",
}


# --------------------------------------------------------------------------- cell source


@dataclass(frozen=True)
class CellNames:
    """Names a cell binds at its top level, loads anywhere, and fits in place."""

    bound: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    fitted: frozenset[str] = frozenset()
    read_first: frozenset[str] = frozenset()  # read before the cell binds them: its inputs


class _TopLevelScope(ast.NodeVisitor):
    """Collects bindings and `.fit` receivers of the cell's own scope.

    Function, class and lambda bodies are separate scopes and are not entered; a
    comprehension's loop variables are its own, but a walrus inside it binds in the cell.
    """

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.fitted: set[str] = set()

    def _bind_target(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value)
        else:  # `a.b = ...`, `a[i] = ...` mutate an object, they bind no name
            self.visit(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # `x: int` alone declares, it binds nothing
            self._bind_target(node.target)
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind_target(node.target)
        self.visit(node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._bind_target(node.target)
        for child in (node.iter, *node.body, *node.orelse):
            self.visit(child)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars)
        self.visit(node.context_expr)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.bound.add(node.target.id)
        self.visit(node.value)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bound.add(node.rest)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in FIT_METHODS
            and isinstance(func.value, ast.Name)
        ):
            self.fitted.add(func.value.id)
        self.generic_visit(node)

    def _visit_comprehension(self, node: ast.AST) -> None:
        # Loop targets are local to the comprehension; only walrus/fit inside matter.
        for generator in node.generators:
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for field in ("elt", "key", "value"):
            child = getattr(node, field, None)
            if child is not None:
                self.visit(child)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def _skip_scope(self, node: ast.AST) -> None:
        pass

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _skip_scope
    visit_Import = visit_ImportFrom = _skip_scope


def cell_names(source: str) -> CellNames:
    """Return the names `source` binds, reads and fits; empty sets if it does not parse.

    `source` is Python as IPython runs it (magics already transformed). `read` is every
    name loaded anywhere in the cell, for lineage; `fitted` holds `X` for `X.fit(...)` and
    the other in-place training calls, since a model fitted in place counts as bound.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return CellNames()
    scope = _TopLevelScope()
    read: set[str] = set()
    read_first: set[str] = set()
    for statement in tree.body:  # statement order: `X = X.drop(...)` reads the old X first
        loaded = _loaded_names(statement)
        read_first |= loaded - scope.bound
        read |= loaded
        scope.visit(statement)
    return CellNames(frozenset(scope.bound), frozenset(read), frozenset(scope.fitted),
                     frozenset(read_first))


def _loaded_names(tree: ast.AST) -> set[str]:
    loaded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loaded.add(node.target.id)
    return loaded


def snapshot(namespace: dict, names: Iterable[str]) -> dict[str, object]:
    """Return `{name: namespace[name]}` for the `names` present: references, not copies.

    Costs one lookup per name, whatever the size of the namespace.
    """
    return {name: namespace[name] for name in names if name in namespace}


def changed_names(
    before: dict, namespace: dict, bound: Iterable[str], fitted: Iterable[str] = ()
) -> list[str]:
    """Return, sorted, the `bound` names the cell rebound and the `fitted` names still present.

    A name counts as rebound when it is new or now refers to a different object (`is`, not
    `==`: equal values rebound to the same object are unchanged). Private names (`_x`) and
    modules (`xgb` in `xgb.train(...)` is a module, not a model) are left out.
    """
    fitted = set(fitted)
    result = []
    for name in set(bound) | fitted:
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            continue
        if name in fitted or name not in before or before[name] is not value:
            result.append(name)
    return sorted(result)


# --------------------------------------------------------------------------- roles


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
    if is_metric_name(name) and _is_real_number(value):
        return "metric"
    if _is_param_value(value):
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


def _numpy():
    """numpy if the kernel has imported it, else None (then no value can be a numpy one)."""
    return sys.modules.get("numpy")


def _is_real_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    np = _numpy()
    return np is not None and isinstance(value, (np.integer, np.floating))


def _is_scalar(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_PARAM_CHARS
    np = _numpy()
    return np is not None and isinstance(value, (np.bool_, np.integer, np.floating, np.str_))


def _is_param_value(value: Any, any_keys: bool = False) -> bool:
    """A scalar, or a small list/tuple/dict of scalars (dict keys str unless `any_keys`)."""
    if _is_scalar(value):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) <= MAX_PARAM_ITEMS and all(_is_scalar(item) for item in value)
    if isinstance(value, dict):
        return len(value) <= MAX_PARAM_ITEMS and all(
            (_is_scalar(key) if any_keys else isinstance(key, str)) and _is_scalar(item)
            for key, item in value.items()
        )
    return False


def json_value(value: Any) -> Any:
    """Return `value` made JSON-safe: numpy scalars as Python, tuples as lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    np = _numpy()
    if np is not None and isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- models


def _module_attr(module: str, name: str) -> Any:
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
        cls for cls in (_module_attr("xgboost", "Booster"), _module_attr("lightgbm", "Booster"))
        if cls is not None
    )
    if boosters and isinstance(value, boosters):
        return True
    base_estimator = _module_attr("sklearn.base", "BaseEstimator")
    if base_estimator is not None and isinstance(value, base_estimator):
        # A fitted scaler or encoder is a step, not a model: it has no predict. An
        # unfitted estimator has fit/predict, yet is no model either.
        return _has_fit_and_predict(value) and _sklearn_fitted(value)
    frameworks = tuple(
        cls for cls in (
            _module_attr("torch.nn", "Module"),
            _module_attr("keras", "Model"),
            _module_attr("tensorflow.keras", "Model"),
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
        if _is_instance_of(model, "lightgbm", "Booster"):
            params = dict(model.params or {})
        elif callable(getattr(model, "get_params", None)):
            deep = _is_instance_of(model, "sklearn.pipeline", "Pipeline")
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
    if _is_param_value(value, any_keys=True):
        return json_value(value)
    if isinstance(value, (list, tuple, dict)):  # a Pipeline's `steps`: told by the step keys
        return _DROP
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return value.__qualname__
    return short_type_name(value)  # a nested estimator, a scorer, a RandomState...


def _is_instance_of(value: Any, module: str, name: str) -> bool:
    cls = _module_attr(module, name)
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
    if _is_instance_of(model, "xgboost", "XGBModel"):
        model = model.get_booster()
    if _is_instance_of(model, "xgboost", "Booster"):
        return model.feature_names, model.num_features()
    if _is_instance_of(model, "lightgbm", "LGBMModel"):
        model = model.booster_
    if _is_instance_of(model, "lightgbm", "Booster"):
        names = model.feature_name()
        # LightGBM names unnamed (numpy) inputs Column_0..; those are not real names.
        if names == [f"Column_{i}" for i in range(len(names))]:
            names = None
        return names, model.num_feature()
    if _is_instance_of(model, "torch.nn", "Module"):
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


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataSummary:
    """Fingerprint (xxh3-128 hex), schema, per-column statistics and in-memory size of data."""

    fingerprint: str
    type: str
    schema: dict
    stats: dict
    nbytes: int

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint, "type": self.type, "schema": self.schema,
            "stats": self.stats, "nbytes": self.nbytes,
        }


def is_data(value: Any) -> bool:
    """Whether `value` is a pandas DataFrame or Series or a NumPy array."""
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, (pd.DataFrame, pd.Series))


def summarize_data(value: Any) -> DataSummary:
    """Return the fingerprint, schema, statistics and size of a DataFrame, Series or ndarray.

    The fingerprint changes with any cell value, column name, dtype, index or row order,
    and is the same for equal data however it is laid out in memory. Schema and statistics
    are computed once per fingerprint: the same training data read by every cell of a
    session is described once. Raises TypeError for anything `is_data` rejects.
    """
    if not is_data(value):
        raise TypeError(f"not a DataFrame, Series or ndarray: {type_name(value)}")
    fingerprint = data_fingerprint(value)
    described = _DESCRIBED.get(fingerprint)
    if described is None:
        described = _describe(value)
        if len(_DESCRIBED) >= _DESCRIBED_MAX:
            _DESCRIBED.pop(next(iter(_DESCRIBED)))
        _DESCRIBED[fingerprint] = described
    schema, stats, nbytes = described
    return DataSummary(fingerprint, type_name(value), schema, stats, nbytes)


_DESCRIBED: dict[str, tuple[dict, dict, int]] = {}  # fingerprint -> (schema, stats, nbytes)
_DESCRIBED_MAX = 256


def data_fingerprint(value: Any) -> str:
    """The xxh3-128 content fingerprint of a DataFrame, Series or ndarray."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return _array_fingerprint(value)
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return _frame_fingerprint(value)
    return _series_fingerprint(value)


def _describe(value: Any) -> tuple[dict, dict, int]:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _describe_array(value)
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return _describe_frame(value)
    return _describe_series(value)


# Statistics and fingerprints read data by blocks of rows (or columns) and allocate about
# this many bytes of temporaries at a time (plus a mask an eighth of it): describing a 1 GiB
# array costs a few MiB on top of it, not another GiB of masks, float and contiguous
# copies. 1 MiB blocks stay in the CPU cache: faster than 4-32 MiB ones, too.
_CHUNK_BYTES = 2**20


def _chunk_rows(row_bytes: int) -> int:
    """How many rows of `row_bytes` bytes one block holds (at least one)."""
    return max(1, _CHUNK_BYTES // max(1, row_bytes))


class _Hasher:
    """An xxh3-128 state that `_hash_values` can roll back when it changes method mid-way."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        import xxhash

        self.state = xxhash.xxh3_128()

    def update(self, data: Any) -> None:
        self.state.update(data)

    def hexdigest(self) -> str:
        return self.state.hexdigest()


def _hasher() -> _Hasher:
    return _Hasher()


def _header(*parts: Any) -> bytes:
    # Length-prefixed so no two different headers hash the same bytes.
    text = json.dumps(parts, default=str).encode()
    return len(text).to_bytes(8, "little") + text


def _label(name: Any) -> list[str]:
    return [type(name).__name__, str(name)]


def _c_order_pieces(array: Any, any_order: bool = False):
    """The array's elements as 1-D contiguous arrays: in C order, or in memory order if `any_order`.

    A contiguous array is one view; otherwise blocks of rows (of sub-rows when one row is
    too large) are copied one at a time, each of at most about `_CHUNK_BYTES`.
    """
    import numpy as np

    if array.flags.c_contiguous or (any_order and array.flags.f_contiguous):
        yield array.ravel(order="K")
        return
    if array.ndim == 1:
        row_bytes = array.itemsize
    else:
        row_bytes = array.itemsize * math.prod(array.shape[1:])
    if array.ndim > 1 and row_bytes > _CHUNK_BYTES:
        for row in array:
            yield from _c_order_pieces(row, any_order)
        return
    step = _chunk_rows(row_bytes)
    for start in range(0, array.shape[0], step):
        yield np.ascontiguousarray(array[start:start + step]).reshape(-1)


def _update_raw(hasher, array: Any) -> None:
    """Feed the array's bytes in C order, by blocks when it is not contiguous."""
    import numpy as np

    for piece in _c_order_pieces(array):
        hasher.update(piece.view(np.uint8))


def _has_raw_dtype(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind in "biufcmM"


def _hash_values(hasher, values: Any) -> None:
    """Feed a column's, index's or array's values: raw bytes when numeric, else pandas' hash.

    pandas' hash is per value, so it is fed by blocks of rows: the bytes are those of the
    whole column hashed at once, without a full-length hash array (or object copy).
    """
    import numpy as np

    if isinstance(values, np.ndarray) and not values.dtype.hasobject:
        _update_raw(hasher, values)
        return
    import pandas as pd

    step = _chunk_rows(32)  # a hash, a factorize code and more per value
    if isinstance(values, np.ndarray):
        dtype = object if values.dtype.kind == "O" else None
        array = values

        def parts():
            for piece in _c_order_pieces(array):
                for start in range(0, len(piece), step):
                    yield pd.Series(piece[start:start + step], dtype=dtype)
    elif _has_raw_dtype(values.dtype) and not isinstance(values, pd.MultiIndex):
        _update_raw(hasher, values.to_numpy())
        return
    else:
        rows = values.iloc if isinstance(values, pd.Series) else values

        def parts():
            for start in range(0, len(values), step):
                yield rows[start:start + step]
    saved = hasher.state.copy()
    try:
        for part in parts():
            hasher.update(pd.util.hash_pandas_object(part, index=False).to_numpy().view(np.uint8))
    except (TypeError, ValueError):
        # Objects pandas cannot hash (lists, dicts) are hashed by their repr; a repr that
        # numpy abbreviates ("...") can miss a change deep inside a nested array.
        hasher.state = saved
        for part in parts():
            reprs = pd.Series([repr(item) for item in part], dtype=object)
            hashed = pd.util.hash_pandas_object(reprs, index=False)
            hasher.update(hashed.to_numpy().view(np.uint8))


def _hash_index(hasher, index: Any) -> None:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        hasher.update(_header("range", index.start, index.stop, index.step, _label(index.name)))
        return
    hasher.update(_header(str(index.dtype), len(index), [_label(n) for n in index.names]))
    _hash_values(hasher, index)


def _frame_fingerprint(frame: Any) -> str:
    import numpy as np

    hasher = _hasher()
    dtypes = list(frame.dtypes)
    hasher.update(_header(
        "DataFrame", list(frame.shape),
        [[*_label(name), str(dtype)] for name, dtype in zip(frame.columns, dtypes)],
    ))
    _hash_index(hasher, frame.index)
    if dtypes and all(dtype == dtypes[0] for dtype in dtypes) and _has_raw_dtype(dtypes[0]):
        # One numeric dtype: the transposed matrix is the columns back to back, without a
        # Python call per column (wide frames). Taken by blocks of columns: the matrix of
        # one block is a view, a frame made of many blocks is copied one chunk at a time.
        step = _chunk_rows(len(frame) * dtypes[0].itemsize)
        if getattr(getattr(frame, "_mgr", None), "nblocks", None) == 1:
            step = len(dtypes)  # one block (pandas internals, checked): its matrix is a view
        for start in range(0, len(dtypes), step):
            part = frame.iloc[:, start:start + step] if step < len(dtypes) else frame
            _update_raw(hasher, np.asarray(part.to_numpy()).T)
    else:
        for _, column in frame.items():
            _hash_values(hasher, column)
    return hasher.hexdigest()


def _describe_frame(frame: Any) -> tuple[dict, dict, int]:
    schema = {
        "kind": "DataFrame",
        "columns": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        "shape": list(frame.shape),
    }
    stats = {}
    scratch = _Scratch()
    for position, (name, column) in enumerate(frame.items()):
        if position >= MAX_STATS_COLUMNS:
            break
        stats[str(name)] = _column_stats(column, scratch)
    return schema, stats, int(frame.memory_usage(index=True, deep=False).sum())


def _series_fingerprint(series: Any) -> str:
    hasher = _hasher()
    hasher.update(_header("Series", len(series), _label(series.name), str(series.dtype)))
    _hash_index(hasher, series.index)
    _hash_values(hasher, series)
    return hasher.hexdigest()


def _describe_series(series: Any) -> tuple[dict, dict, int]:
    schema = {
        "kind": "Series", "name": None if series.name is None else str(series.name),
        "dtype": str(series.dtype), "shape": [len(series)],
    }
    stats = {"value" if series.name is None else str(series.name): _column_stats(series)}
    return schema, stats, int(series.memory_usage(index=True, deep=False))


def _column_stats(column: Any, scratch: _Scratch | None = None) -> dict:
    """count, nulls and mean/std/min/max, min/max, or distinct/top of a Series, by blocks of rows."""
    import numpy as np
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        moments = _Moments(1, dtype, scratch)
        moments.add(column.to_numpy().reshape(-1, 1))  # a view of the column
        return moments.column(0)
    numeric = pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    if numeric and not pd.api.types.is_complex_dtype(dtype):
        try:
            return _extension_numeric_stats(column, scratch)
        except Exception:  # noqa: BLE001, S110  an extension dtype with no float conversion
            pass  # described by pandas below, whole
    if numeric:
        count = int(column.count())
        stats: dict[str, Any] = {"count": count, "nulls": len(column) - count}
        for stat in ("mean", "std", "min", "max"):
            stats[stat] = _safe_stat(lambda: getattr(column, stat)())
        return stats
    count = sum(int(part.count()) for part in _row_parts(column))
    stats = {"count": count, "nulls": len(column) - count}
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        stats["min"] = _safe_stat(lambda: _extreme(column, "min"))
        stats["max"] = _safe_stat(lambda: _extreme(column, "max"))
    else:
        counts = _safe_value_counts(column)
        stats["distinct"] = None if counts is None else int((counts.to_numpy() > 0).sum())
        stats["top"] = _safe_stat(lambda: _top(counts))
    return stats


def _row_parts(column: Any, row_bytes: int = 8):
    """A Series as consecutive slices (views) of at most about `_CHUNK_BYTES`."""
    step = _chunk_rows(row_bytes)
    if len(column) <= step:
        yield column
        return
    for start in range(0, len(column), step):
        yield column.iloc[start:start + step]


def _extreme(column: Any, op: str) -> Any:
    """`column.min()` / `.max()` (skipping nulls) computed by blocks: no full-length mask or copy."""
    import pandas as pd

    found = [value for value in (getattr(part, op)() for part in _row_parts(column))
             if not pd.isna(value)]
    if not found:
        return None
    return min(found) if op == "min" else max(found)


def _extension_numeric_stats(column: Any, scratch: _Scratch | None) -> dict:
    """Stats of a nullable/Arrow/sparse numeric column: moments in float64 by blocks, extremes by pandas."""
    import numpy as np

    moments = _Moments(1, np.dtype(np.float64), scratch)
    for part in _row_parts(column, 16):
        moments.add(part.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1))
    stats = moments.column(0)
    for op in ("min", "max"):
        stats[op] = _safe_stat(lambda op=op: _extreme(column, op)) if stats["count"] else None
    return stats


def _safe_value_counts(column: Any) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return column.value_counts(dropna=True)
    except Exception:  # e.g. unhashable objects
        return None


def _top(counts: Any) -> str | None:
    """The most frequent value of `column.value_counts(dropna=True)`, as text."""
    if counts is None or counts.empty:
        return None
    return str(counts.index[0])[:MAX_TOP_CHARS]


def _safe_stat(compute) -> Any:
    """A statistic as a JSON value; None when it cannot be computed or is not finite."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _stat_json(compute())
    except Exception:  # e.g. unhashable or unorderable objects
        return None


def _stat_json(value: Any) -> Any:
    value = json_value(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.timedelta):  # pandas Timedelta too; "0 days 00:00:01"
        return None if value != value else str(value)
    if hasattr(value, "isoformat"):
        try:
            return None if value != value else value.isoformat()  # NaT != NaT
        except Exception:
            return str(value)
    if isinstance(value, complex):
        return None
    return str(value)


def _array_fingerprint(array: Any) -> str:
    hasher = _hasher()
    hasher.update(_header("ndarray", array.dtype.str, list(array.shape)))
    _hash_values(hasher, array)
    return hasher.hexdigest()


def _describe_array(array: Any) -> tuple[dict, dict, int]:
    schema = {"kind": "ndarray", "dtype": str(array.dtype), "shape": list(array.shape)}
    return schema, _array_stats(array), int(array.nbytes)


def _array_stats(array: Any) -> dict:
    if array.dtype.kind not in "biuf":
        return {"value": {"count": int(array.size)}}
    as_float = array.dtype.kind == "b"  # an array's booleans are described as 0.0/1.0
    if array.ndim == 2:
        columns = array[:, :MAX_ARRAY_STATS_COLUMNS]
        moments = _Moments(columns.shape[1], array.dtype)
        moments.add(columns)
        return {str(j): moments.column(j, as_float) for j in range(columns.shape[1])}
    moments = _Moments(1, array.dtype)
    for piece in _c_order_pieces(array, any_order=True):  # the order does not matter here
        moments.add(piece.reshape(-1, 1))
    return {"value": moments.column(0, as_float)}


class _Scratch:
    """Reusable float64 and bool buffers for `_Moments`, shared by the columns of a frame."""

    __slots__ = ("mask", "values")

    def __init__(self) -> None:
        self.values = self.mask = None

    def get(self, rows: int, width: int):
        import numpy as np

        size = rows * width
        if self.values is None or self.values.size < size:
            self.values = np.empty(size, np.float64)
            self.mask = np.empty(size, bool)
        return self.values[:size].reshape(rows, width), self.mask[:size].reshape(rows, width)


class _Moments:
    """count, nulls, mean, std (ddof=1, as pandas), min and max of each column of 2-D blocks.

    Blocks are cut into chunks of at most `_CHUNK_BYTES` of float64; each chunk's count,
    mean and sum of squared deviations (two passes, in float64 even for integers) are
    merged into the running ones (Chan, Golub and LeVeque), min/max with NaN skipped. The
    temporaries are one chunk and its NaN mask, whatever the size of the data.
    """

    def __init__(self, width: int, dtype: Any, scratch: _Scratch | None = None) -> None:
        import numpy as np

        self.width = width
        self.is_float = dtype.kind == "f"
        self.rows = 0
        self.count = np.zeros(width, np.int64)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)
        self.low = self.high = None
        self.scratch = scratch or _Scratch()

    def add(self, block: Any) -> None:
        if self.width == 0:
            return
        step = _chunk_rows(8 * self.width)
        for start in range(0, block.shape[0], step):
            self._add_chunk(block[start:start + step])

    def _add_chunk(self, chunk: Any) -> None:
        import numpy as np

        rows = chunk.shape[0]
        if rows == 0:
            return
        values, mask = self.scratch.get(rows, self.width)
        nulls = None
        with np.errstate(all="ignore"):
            if self.is_float:
                np.isnan(chunk, out=mask)
                if mask.any():
                    nulls = np.count_nonzero(mask, axis=0)
            if nulls is None:
                count = np.full(self.width, rows, np.int64)
                # einsum: a column sum in float64 (integers too) without a copy, faster than
                # .sum(axis=0) across the rows of a C-ordered block
                mean = np.einsum("ij->j", chunk, dtype=np.float64) / rows
                np.subtract(chunk, mean, out=values)
            else:
                count = rows - nulls
                np.copyto(values, chunk)
                np.copyto(values, 0.0, where=mask)
                mean = np.einsum("ij->j", values) / np.maximum(count, 1)  # 0 for a column all NaN
                values -= mean
                np.copyto(values, 0.0, where=mask)
            m2 = np.einsum("ij,ij->j", values, values)
            if self.is_float:  # fmin/fmax skip NaN
                low, high = np.fmin.reduce(chunk, axis=0), np.fmax.reduce(chunk, axis=0)
            else:
                low, high = chunk.min(axis=0), chunk.max(axis=0)
            if self.low is None:
                self.count, self.mean, self.m2, self.low, self.high = count, mean, m2, low, high
            else:
                total = self.count + count
                share = count / np.maximum(total, 1)
                delta = mean - self.mean
                self.mean = self.mean + delta * share
                self.m2 = self.m2 + m2 + delta * delta * self.count * share
                self.count = total
                minimum, maximum = (np.fmin, np.fmax) if self.is_float else (np.minimum, np.maximum)
                self.low, self.high = minimum(self.low, low), maximum(self.high, high)
        self.rows += rows

    def column(self, j: int, as_float: bool = False) -> dict:
        """The statistics of column `j` as JSON values (None when empty or not finite)."""
        count = int(self.count[j])
        stats: dict[str, Any] = {"count": count, "nulls": self.rows - count}
        if count == 0:
            return {**stats, "mean": None, "std": None, "min": None, "max": None}
        low, high = self.low[j], self.high[j]
        if as_float:
            low, high = float(low), float(high)
        variance = float(self.m2[j]) / (count - 1) if count > 1 else math.nan
        stats["mean"] = _stat_json(float(self.mean[j]))
        stats["std"] = _stat_json(math.sqrt(variance) if variance >= 0 else math.nan)
        stats["min"] = _stat_json(low)
        stats["max"] = _stat_json(high)
        return stats


# --------------------------------------------------------------------------- environment

_environment_cache: dict[frozenset[str], dict] = {}


def environment() -> dict:
    """Return `{"python", "packages": {dist: version}, "user", "host"}` for this process.

    `packages` lists the ML/data packages the kernel has imported; the result is cached and
    recomputed only when one more of them has been imported since.
    """
    imported = frozenset(name for name in WATCHED_PACKAGES if name in sys.modules)
    cached = _environment_cache.get(imported)
    if cached is None:
        cached = {
            "python": platform.python_version(),
            "packages": {WATCHED_PACKAGES[name]: _version(name) for name in sorted(imported)},
            "user": _user(),
            "host": socket.gethostname(),
        }
        _environment_cache[imported] = cached
    return {**cached, "packages": dict(cached["packages"])}


def _version(module_name: str) -> str | None:
    try:
        return importlib.metadata.version(WATCHED_PACKAGES[module_name])
    except Exception:  # not installed as a distribution (vendored, editable without metadata)
        version = getattr(sys.modules.get(module_name), "__version__", None)
        return str(version) if version is not None else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name and no USER/LOGNAME in a container
        return None


def git_info(folder: str | os.PathLike) -> dict | None:
    """Return `{"commit", "branch", "dirty"}` of the git work tree holding `folder`, or None.

    One `git status` call; `branch` is None on a detached HEAD, `commit` None before the
    first commit; untracked files do not make the tree dirty. None when `folder` is not in
    a repository, git is missing, fails or takes over 2 seconds. Never raises.
    """
    command = [
        "git", "-C", os.fspath(folder), "status", "--porcelain=v2", "--branch",
        "--untracked-files=no",
    ]
    # GIT_OPTIONAL_LOCKS=0: status must not take index.lock under the user's own git commands.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env, check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if result.returncode != 0:
        return None
    info: dict[str, Any] = {"commit": None, "branch": None, "dirty": False}
    for line in result.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            info["commit"] = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            info["branch"] = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            info["dirty"] = True
    return info


# --------------------------------------------------------------------------- notebook


def notebook_path(namespace: dict, cwd: str | os.PathLike) -> str | None:
    """Return the absolute path of the running notebook, or None when it cannot be known.

    VS Code sets `__vsc_ipynb_file__` in the namespace; Jupyter sets `JPY_SESSION_NAME`,
    relative to the server root or absolute; the kernel's working directory is the
    notebook's folder, so a relative name is looked up there by its file name.
    """
    vscode = namespace.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return os.path.abspath(vscode)
    session = os.environ.get("JPY_SESSION_NAME")
    if not session:
        return None
    if os.path.isabs(session):
        return os.path.normpath(session)
    for candidate in (Path(cwd) / Path(session).name, Path(cwd) / session):
        if candidate.is_file():
            return str(candidate.resolve())
    return None


def experiment_name(notebook: str | None) -> str:
    """Return the default experiment name: the notebook's file stem, else "default"."""
    stem = Path(notebook).stem if notebook else ""
    return stem or "default"

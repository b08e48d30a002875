"""What a version's bump is judged on: facts about the model object and the run that made it.

`version_facts(obj, run)` is stored with each version (`versions.facts`) and compared with
the previous version's by `versioning.infer_bump`. Facts a version cannot know are None
(a version registered from a live object has no run: no data, metrics or code to compare),
never an empty dict that would read as "there was none".

- `params`: the registered model's own hyperparameters, from the object (a Pipeline's step
  settings once, as `step__name`; an XGBoost Booster's training config, rounds and
  evaluation metric); `cell_params`: the run's other params (cell values, `log_param`).
- `structure`: the classes a composite model is made of (Pipeline steps, a search's
  estimator), so a changed step class is a model class change.
- `data`: the run's training data by name, as fingerprints (`rows` beside them): data the
  cell's `fit`/`train` calls read, directly or through names the cell derived them from;
  all the run's data when the cell has no such call.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from . import capture
from .records import Run

FACTS_VERSION = 2
# the Booster training settings that are hyperparameters (not learned, not bookkeeping)
_BOOSTER_SECTIONS = (("gradient_booster", "tree_train_param"), ("learner_train_param",))


def version_facts(obj: Any, run: Run | None, model_params: dict | None = None) -> dict:
    """The facts `infer_bump` compares. Keys starting with `_` are for this registration
    only (comparing with versions stored before facts had `facts_version`), not stored.
    `model_params`: `capture.model_params(obj)` when already known (the run that stored
    these very bytes recorded them), so that they are not read from `obj` again."""
    params = hyperparameters(obj, model_params)
    data = training_data(run) if run is not None else None
    return {
        "facts_version": FACTS_VERSION,
        "model_type": capture.type_name(obj),
        "structure": structure(obj),
        "signature": capture.model_signature(obj),
        "input_schema": {name: d["schema"] for name, d in data.items()} if data else None,
        "params": params,
        "cell_params": _cell_params(run, params) if run is not None else None,
        "metrics": run.metrics if run is not None else None,
        "data": {name: d["fingerprint"] for name, d in data.items()} if data is not None else None,
        "rows": {name: d["rows"] for name, d in data.items()} if data is not None else None,
        "source": run.source if run is not None else None,
        "packages": run.packages if run is not None else None,
        # what facts stored before `facts_version` held: the run's params and its inputs
        "_run_params": run.params if run is not None else params,
        "_inputs": {i.name: i.fingerprint for i in run.inputs} if run is not None else None,
        "_input_schemas": {i.name: i.schema for i in run.inputs} if run is not None else None,
    }


def stored_facts(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if not k.startswith("_")}


# ---- the model object -------------------------------------------------------------------

def hyperparameters(obj: Any, model_params: dict | None = None) -> dict:
    """The model's own hyperparameters: `capture.model_params` (or `model_params`, when
    known), and for an XGBoost Booster (which has no `get_params`) its training config,
    rounds and eval metric."""
    params = capture.model_params(obj) if model_params is None else model_params
    if _is(obj, "xgboost", "Booster"):
        params = {**_booster_params(obj), **params}
    return params


def _booster_params(booster) -> dict:
    try:
        learner = json.loads(booster.save_config())["learner"]
        rounds = booster.num_boosted_rounds()
    except Exception:  # a foreign or damaged booster: no config to read
        return {}
    found = {}
    for path in _BOOSTER_SECTIONS:
        section = learner
        for key in path:
            section = section.get(key) or {}
        found.update({k: _number(v) for k, v in section.items()})
    metrics = [m.get("name") for m in learner.get("metrics") or []]
    found["eval_metric"] = ",".join(m for m in metrics if m) or None
    found["num_boost_round"] = rounds
    return found


def _number(text: Any) -> Any:
    """XGBoost's config holds every value as text: numbers back as numbers."""
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _is(value: Any, module: str, name: str) -> bool:
    import sys

    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(value, cls)


def structure(obj: Any) -> list | None:
    """`[[path, class], ...]` of a composite scikit-learn model, itself first (path ""),
    then its sub-estimators depth first (Pipeline/ColumnTransformer/FeatureUnion steps,
    a search's or an ensemble's estimators); None for a model with none."""
    found = [["", _class(obj)], *_parts(obj, "")]
    return found if len(found) > 1 else None


def _parts(obj: Any, prefix: str) -> list:
    try:
        params = obj.get_params(deep=False)
    except Exception:  # no get_params, or one that needs a fitted model
        return []
    found = []
    for key, value in params.items():
        named = _named_steps(value)
        children = named if named is not None else (
            [(key, value)] if _is_estimator(value) else [])
        for name, child in children:
            path = f"{prefix}{name}"
            found.append([path, _class(child)])
            if _is_estimator(child):
                found += _parts(child, f"{path}__")
    return found


def _named_steps(value: Any) -> list | None:
    """`[(name, estimator), ...]` from a list of `(name, estimator, ...)` tuples (Pipeline
    steps, ColumnTransformer transformers, FeatureUnion/Voting estimators), else None."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if all(isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str)
           and (_is_estimator(item[1]) or isinstance(item[1], str)) for item in value):
        return [(item[0], item[1]) for item in value]
    return None


def _is_estimator(value: Any) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "get_params", None))


def _class(value: Any) -> str:
    return value if isinstance(value, str) else type(value).__qualname__


# ---- the run --------------------------------------------------------------------------

def _cell_params(run: Run, model_params: dict) -> dict:
    """The run's params that are not a captured model's hyperparameters: values the cell
    bound and `log_param` values. A cell value named like a model's hyperparameter (or a
    pipeline step's: `alpha` for `ridge__alpha`) is the model's, compared there once."""
    models = {v.name for v in run.variables if v.role == "model"}
    model_keys = set(model_params)
    for variable in run.variables:
        if variable.role == "model" and isinstance(variable.data, dict):
            model_keys.update(variable.data.get("params") or {})
    return _not_model_keys(run.params, model_keys, models)


def _not_model_keys(params: dict, model_keys, models=()) -> dict:
    keys = set(model_keys) | {k.rsplit("__", 1)[-1] for k in model_keys}
    return {k: v for k, v in params.items()
            if k not in keys and k.split(".", 1)[0] not in models}


def with_logged(facts: dict, params: dict, metrics: dict) -> dict:
    """A stored version's facts after `log_param`/`log_metric` added values to its run, so
    the next version is compared with what the version has now."""
    facts = dict(facts or {})
    if metrics and facts.get("metrics") is not None:
        facts["metrics"] = {**facts["metrics"], **metrics}
    if params and "facts_version" not in facts and facts.get("params") is not None:
        facts["params"] = {**facts["params"], **params}  # older facts: the run's params
    elif params and facts.get("cell_params") is not None:
        facts["cell_params"] = {**facts["cell_params"],
                                **_not_model_keys(params, facts.get("params") or {})}
    return facts


def training_data(run: Run) -> dict[str, dict]:
    """`{name: {"fingerprint", "schema", "rows"}}` of the data the run trained on (see the
    module docstring); a data variable wins over an input of the same name (the cell
    rebound it: the model saw the new value)."""
    found = {i.name: _dataset(i.fingerprint, i.schema) for i in run.inputs if i.fingerprint}
    for variable in run.variables:
        data = variable.data if isinstance(variable.data, dict) else {}
        if variable.role == "data" and data.get("fingerprint"):
            found[variable.name] = _dataset(data["fingerprint"], data.get("schema") or {})
    names = training_names(run.source or "")
    trained = {name: d for name, d in found.items() if names is not None and name in names}
    return trained or found


def _dataset(fingerprint: str, schema: dict) -> dict:
    shape = (schema or {}).get("shape") or [None]
    return {"fingerprint": fingerprint, "schema": schema or {}, "rows": shape[0]}


# a call of one of FIT_METHODS, as a method (`.fit(`) or a function (`train(`), as text
_FIT_CALL = re.compile(rf"\b(?:{'|'.join(sorted(capture.FIT_METHODS))})\s*\(")


def training_names(source: str) -> set[str] | None:
    """Names the cell's `fit`/`train` calls read, with every name the cell derived them
    from (`X_tr, y_tr = X[:n], y[:n]` then `fit(X_tr, y_tr)` gives X_tr, y_tr, X, y, n);
    None when the cell makes no such call or is not Python (then all its data counts)."""
    if not _FIT_CALL.search(source):  # most cells: no need to parse one
        return None
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]  # IPython magics and shell lines
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    derived: list[tuple[set, set]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node.func) in capture.FIT_METHODS:
            for arg in (*node.args, *(k.value for k in node.keywords)):
                names |= _loaded(arg)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            derived.append((set().union(*map(_loaded, targets)), _loaded(node.value)))
    if not names:
        return None
    grown = True
    while grown:
        grown = False
        for targets, reads in derived:
            if targets & names and not reads <= names:
                names |= reads
                grown = True
    return names


def _called(func: ast.AST) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _loaded(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

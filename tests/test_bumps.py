"""Semver reasons are honest: what `register` says changed did change, and what changed
decides the bump (SPEC §3 `%register`). Real scikit-learn and XGBoost models, recorded as
runs the way `%%track` records them, then registered."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from nbmodels.registry import CellRecord


@pytest.fixture(scope="module")
def diabetes():
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    return data.data, data.target


def _track(registry, source: str, values: dict, inputs: dict | None = None):
    """Record a run as `%%track` does: what the cell bound, and the data it read."""
    now = datetime.now(timezone.utc)
    return registry.record_run(CellRecord(source=source, experiment="bumps", status="ok",
                                          started_at=now, ended_at=now, values=values,
                                          inputs=inputs or {}))


def _reason(version) -> str:
    return f"{version.bump}: {version.bump_reason}"


def test_the_same_data_read_bound_or_renamed_is_not_a_data_change(registry, diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    first = Ridge(alpha=1.0).fit(X, y)
    _track(registry, "X_train, y_train = X.copy(), y.copy()\nmodel = Ridge(alpha=1.0).fit(X_train, y_train)",
           {"model": first, "X_train": X.copy(), "y_train": y.copy()}, {"X": X, "y": y})
    registry.register(first, "ridge")
    second = Ridge(alpha=2.0).fit(X, y)  # the same data, now read from the kernel
    _track(registry, "model = Ridge(alpha=2.0).fit(X_train, y_train)", {"model": second},
           {"X_train": X.copy(), "y_train": y.copy()})
    version = registry.register(second, "ridge")
    assert version.bump == "minor" and "data" not in version.bump_reason, _reason(version)
    assert "alpha 1 → 2" in version.bump_reason
    third = Ridge(alpha=3.0).fit(X, y)  # the same data under other names
    _track(registry, "model = Ridge(alpha=3.0).fit(features, target)", {"model": third},
           {"features": X.copy(), "target": y.copy()})
    version = registry.register(third, "ridge")
    assert "data" not in version.bump_reason, _reason(version)


def test_a_version_without_a_run_is_not_compared_with_data_it_never_recorded(registry, diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    registry.register(Ridge(alpha=1.0).fit(X, y), "ridge")  # a live object, no tracked run
    model = Ridge(alpha=2.0).fit(X, y)
    _track(registry, "model = Ridge(alpha=2.0).fit(X, y)\nr2 = model.score(X, y)",
           {"model": model, "r2": model.score(X, y)}, {"X": X, "y": y})
    version = registry.register(model, "ridge")
    assert version.bump == "minor", _reason(version)
    assert version.bump_reason == "hyperparameters changed: alpha 1 → 2"


def test_nan_equals_nan_and_none_is_not_absent(registry, diabetes):
    import xgboost

    X, y = diabetes
    first = xgboost.XGBRegressor(n_estimators=3, max_depth=2, missing=math.nan).fit(X, y)
    _track(registry, "model = xgboost.XGBRegressor(n_estimators=3).fit(X, y)",
           {"model": first, "val_loss": math.nan, "seed": None}, {"X": X, "y": y})
    registry.register(first, "xgb")
    second = xgboost.XGBRegressor(n_estimators=4, max_depth=2, missing=math.nan).fit(X, y)
    _track(registry, "model = xgboost.XGBRegressor(n_estimators=4).fit(X, y)",
           {"model": second, "val_loss": math.nan}, {"X": X, "y": y})
    version = registry.register(second, "xgb")
    reason = version.bump_reason
    assert version.bump == "minor" and "n_estimators 3 → 4" in reason, reason
    assert "missing" not in reason and "metrics" not in reason and "nan" not in reason, reason
    assert "seed None → absent" in reason and "∅" not in reason, reason


@pytest.mark.parametrize("step_bound", [True, False])
def test_pipeline_params_are_listed_once(registry, diabetes, step_bound):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes
    for alpha in (1.0, 2.0):
        ridge = Ridge(alpha=alpha)
        pipe = make_pipeline(StandardScaler(), ridge).fit(X, y)
        bound = {"pipe": pipe, "alpha": alpha, **({"ridge": ridge} if step_bound else {})}
        _track(registry, f"alpha = {alpha}\nridge = Ridge(alpha=alpha)\n"
                         "pipe = make_pipeline(StandardScaler(), ridge).fit(X, y)",
               bound, {"X": X, "y": y})
        version = registry.register(pipe, "pipe")
    assert version.bump == "minor", _reason(version)
    assert version.bump_reason == "hyperparameters changed: ridge__alpha 1 → 2", \
        _reason(version)


def test_a_changed_step_class_inside_a_pipeline_is_major(registry, diabetes):
    from sklearn.linear_model import Lasso, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes
    for step in (Ridge(alpha=1.0), Lasso(alpha=1.0)):
        pipe = make_pipeline(StandardScaler(), step).fit(X, y)
        _track(registry, f"pipe = make_pipeline(StandardScaler(), {step!r}).fit(X, y)",
               {"pipe": pipe}, {"X": X, "y": y})
        version = registry.register(pipe, "pipe")
    assert version.bump == "major", _reason(version)
    assert "model class changed" in version.bump_reason and "Ridge → " in version.bump_reason
    assert "Lasso" in version.bump_reason


def test_half_the_training_rows_is_a_data_change(registry, diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    half = len(X) // 2
    for rows in (len(X), half):
        X_train, y_train = X.iloc[:rows], y.iloc[:rows]
        model = Ridge().fit(X_train, y_train)
        _track(registry, f"X_train, y_train = X.iloc[:{rows}], y.iloc[:{rows}]\n"
                         "model = Ridge().fit(X_train, y_train)",
               {"model": model, "X_train": X_train, "y_train": y_train}, {"X": X, "y": y})
        version = registry.register(model, "ridge")
    assert version.bump == "minor", _reason(version)
    assert version.bump_reason.startswith("training data changed: X_train"), _reason(version)


def test_predictions_bound_by_the_cell_are_not_training_data(registry, diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    for alpha in (1.0, 1.0000001):
        model = Ridge(alpha=alpha).fit(X, y)
        _track(registry, f"model = Ridge(alpha={alpha}).fit(X, y)\npredicted = model.predict(X)",
               {"model": model, "predicted": model.predict(X)}, {"X": X, "y": y})
        version = registry.register(model, "ridge")
    assert "data" not in version.bump_reason, _reason(version)


@pytest.fixture(scope="module")
def dtrain(diabetes):
    import xgboost

    X, y = diabetes
    return xgboost.DMatrix(X, label=y)


def _booster(registry, dtrain, params: dict, rounds: int):
    import xgboost

    booster = xgboost.train(params, dtrain, num_boost_round=rounds)
    _track(registry, f"bst = xgb.train(param, dtrain, num_boost_round={rounds})", {"bst": booster})
    return registry.register(booster, "bst")


def test_more_boosting_rounds_is_a_hyperparameter_change(registry, dtrain):
    params = {"max_depth": 2, "eta": 1, "eval_metric": "rmse"}
    _booster(registry, dtrain, params, 5)
    version = _booster(registry, dtrain, params, 10)
    assert version.bump == "minor", _reason(version)
    assert "num_boost_round 5 → 10" in version.bump_reason, _reason(version)


def test_a_changed_eval_metric_is_a_hyperparameter_change(registry, dtrain):
    _booster(registry, dtrain, {"max_depth": 2, "eval_metric": "rmse"}, 5)
    version = _booster(registry, dtrain, {"max_depth": 2, "eval_metric": "mae"}, 5)
    assert version.bump == "minor", _reason(version)
    assert "eval_metric rmse → mae" in version.bump_reason, _reason(version)


def test_only_the_code_changed_is_a_patch(registry, diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    for source in ("model = Ridge().fit(X, y)", "# refit\nmodel = Ridge().fit(X, y)"):
        model = Ridge().fit(X, y)
        model.coef_ = model.coef_ + (0 if "#" not in source else 1e-12)  # other bytes
        _track(registry, source, {"model": model}, {"X": X, "y": y})
        version = registry.register(model, "ridge")
    assert version.bump == "patch" and version.bump_reason.startswith("cell code changed"), \
        _reason(version)


def test_a_version_stored_with_older_facts_is_compared_fairly(registry, diabetes):
    import json

    from sklearn.linear_model import Ridge

    X, y = diabetes
    first = Ridge(alpha=1.0).fit(X, y)
    run = _track(registry, "X_train = X.copy()\nmodel = Ridge(alpha=1.0).fit(X_train, y)",
                 {"model": first, "X_train": X.copy()}, {"X": X, "y": y})
    registry.register(first, "ridge")
    legacy = {"model_type": "sklearn.linear_model._ridge.Ridge",  # what nbmodels <= 0.x stored
              "signature": registry.get("ridge").signature,
              "input_schema": {i.name: i.schema for i in run.inputs}, "params": run.params,
              "metrics": run.metrics, "data": {i.name: i.fingerprint for i in run.inputs},
              "source": run.source, "packages": run.packages}
    registry.store.db.execute("UPDATE versions SET facts = ?", [json.dumps(legacy)])
    second = Ridge(alpha=2.0).fit(X, y)
    _track(registry, "X_train = X.copy()\nmodel = Ridge(alpha=2.0).fit(X_train, y)",
           {"model": second, "X_train": X.copy()}, {"X": X, "y": y})
    version = registry.register(second, "ridge")
    assert version.bump_reason == "hyperparameters changed: alpha 1 → 2", _reason(version)

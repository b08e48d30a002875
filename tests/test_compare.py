"""compare: the DataFrames of a comparison, code and data diffs, scores on given data."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

import nbmodels
from nbmodels.comparison import Comparison, Target, feature_importance
from nbmodels.errors import InvalidInputError, NotFoundError
from nbmodels.registry import CellRecord

SOURCE = """clf = LogisticRegression(C={C}, max_iter=200).fit(X_train, y_train)
accuracy = {accuracy}
log_loss = {log_loss}
"""

_clock = [datetime(2026, 1, 1, tzinfo=timezone.utc)]


def track(registry, model, X_train, y_train, *, C, accuracy, log_loss, note=None, tags=None,
          experiment="bc"):
    """Record a run the way `%%track` does: the cell's values, the data it read."""
    _clock[0] += timedelta(seconds=5)
    return registry.record_run(CellRecord(
        source=SOURCE.format(C=C, accuracy=accuracy, log_loss=log_loss), experiment=experiment,
        status="ok", started_at=_clock[0], ended_at=_clock[0] + timedelta(seconds=1),
        values={"clf": model, "C": C, "accuracy": accuracy, "log_loss": log_loss},
        inputs={"X_train": X_train, "y_train": y_train}, note=note, tags=tags or {}))


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=5, n_informative=3, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    y = pd.Series(y, name="target")
    return train_test_split(X, y, random_state=0)


@pytest.fixture(scope="module")
def models(data):
    """v1: C=1 on all five columns; v2: C=0.1 with column f4 dropped; v3: C=10."""
    X_train, _, y_train, _ = data
    return (LogisticRegression(C=1.0, max_iter=200).fit(X_train, y_train),
            LogisticRegression(C=0.1, max_iter=200).fit(X_train.drop(columns="f4"), y_train),
            LogisticRegression(C=10.0, max_iter=200).fit(X_train, y_train))


@pytest.fixture
def runs(registry, data, models):
    X_train, _, y_train, _ = data
    return (
        track(registry, models[0], X_train, y_train, C=1.0, accuracy=0.90, log_loss=0.30),
        track(registry, models[1], X_train.drop(columns="f4"), y_train, C=0.1, accuracy=0.93,
              log_loss=0.35),
        track(registry, models[2], X_train, y_train, C=10.0, accuracy=0.85, log_loss=0.25),
    )


@pytest.fixture
def versions(registry, runs, models):
    return [registry.register(m, "clf-model", variable="clf") for m in models]


# ---- params and metrics ---------------------------------------------------------------------

def test_params_of_two_runs_side_by_side_with_changed_flags(registry, runs):
    a, b = runs[0].id, runs[1].id
    comparison = registry.compare(a, b)
    params = comparison.params
    assert list(params.columns) == [a, b, "changed"]
    assert params.loc["C", a] == 1.0 and params.loc["C", b] == 0.1
    assert bool(params.loc["C", "changed"]) is True
    assert params.loc["max_iter", a] == params.loc["max_iter", b] == 200
    assert bool(params.loc["max_iter", "changed"]) is False
    assert params["changed"].sum() == 1


def test_metric_deltas_are_direction_aware(registry, runs):
    """Given accuracy up and log_loss up, accuracy is better and the loss is worse."""
    a, b, c = (r.id for r in runs)
    metrics = registry.compare(a, b).metrics
    assert metrics.loc["accuracy", a] == 0.90 and metrics.loc["accuracy", b] == 0.93
    assert metrics.loc["accuracy", f"delta {b}"] == pytest.approx(0.03)
    assert metrics.loc["accuracy", f"change {b}"] == "better"
    assert metrics.loc["log_loss", f"delta {b}"] == pytest.approx(0.05)
    assert metrics.loc["log_loss", f"change {b}"] == "worse"
    assert bool(metrics.loc["log_loss", "lower_is_better"]) is True
    assert bool(metrics.loc["accuracy", "lower_is_better"]) is False
    assert metrics.loc["accuracy", "best"] == b and metrics.loc["log_loss", "best"] == a

    # Given the loss going down and accuracy going down: the loss is better, accuracy worse.
    metrics = registry.compare(a, c).metrics
    assert metrics.loc["log_loss", f"delta {c}"] < 0
    assert metrics.loc["log_loss", f"change {c}"] == "better"
    assert metrics.loc["accuracy", f"delta {c}"] < 0
    assert metrics.loc["accuracy", f"change {c}"] == "worse"


def test_three_refs_compare_each_against_the_first(registry, runs):
    a, b, c = (r.id for r in runs)
    comparison = registry.compare(a, b, c)
    assert comparison.wants_chart
    assert comparison.metrics.loc["log_loss", "best"] == c
    assert [col for col in comparison.metrics.columns if col.startswith("delta")] == \
        [f"delta {b}", f"delta {c}"]
    assert len(comparison.code_diffs) == 2


# ---- code -------------------------------------------------------------------------------------

def test_code_diff_unified_and_side_by_side(registry, runs):
    a, b = runs[0].id, runs[1].id
    comparison = registry.compare(a, b)
    assert comparison.code.startswith(f"--- {a}\n+++ {b}\n")
    assert "-clf = LogisticRegression(C=1.0, max_iter=200).fit(X_train, y_train)\n" in comparison.code
    assert "+clf = LogisticRegression(C=0.1, max_iter=200).fit(X_train, y_train)\n" in comparison.code
    assert "-accuracy = 0.9\n" in comparison.code and "+accuracy = 0.93\n" in comparison.code
    [diff] = comparison.code_diffs
    assert diff.changed
    first = diff.rows[0]
    assert first[0] == "replace" and first[1] == first[3] == 1
    assert "C=1.0" in first[2] and "C=0.1" in first[4]
    assert comparison.sources[a].startswith("clf = LogisticRegression(C=1.0")


# ---- data ---------------------------------------------------------------------------------------

def test_schema_diff_when_a_column_is_dropped(registry, runs):
    a, b = runs[0].id, runs[1].id
    comparison = registry.compare(a, b)
    data = comparison.data
    assert data.loc[("X_train", "f4"), "change"] == "removed"
    assert data.loc[("X_train", "f4"), a] == "float64"
    assert data.loc[("X_train", "f4"), b] is None
    assert data.loc[("X_train", "f0"), "change"] == ""
    assert list(data.index[data["change"] != ""]) == [("X_train", "f4")]

    inputs = comparison.inputs
    assert bool(inputs.loc[("X_train", "fingerprint"), "changed"]) is True
    assert inputs.loc[("X_train", "shape"), a] == "225×5"
    assert inputs.loc[("X_train", "shape"), b] == "225×4"
    assert bool(inputs.loc[("y_train", "fingerprint"), "changed"]) is False

    stats = comparison.data_stats
    assert bool(stats.loc[("X_train", "f0", "mean"), "changed"]) is False
    assert bool(stats.loc[("X_train", "f4", "mean"), "changed"]) is True
    assert stats.loc[("X_train", "f4", "mean"), b] is None

    # and the other way round, the column comes back as "added"
    assert registry.compare(b, a).data.loc[("X_train", "f4"), "change"] == "added"


def test_inputs_renamed_between_runs_are_paired_by_their_columns(registry, data, models):
    X_train, _, y_train, _ = data
    first = track(registry, models[0], X_train, y_train, C=1.0, accuracy=0.9, log_loss=0.3)
    _clock[0] += timedelta(seconds=5)
    second = registry.record_run(CellRecord(
        source="clf = ...", experiment="bc", status="ok", started_at=_clock[0],
        ended_at=_clock[0], values={"clf": models[1]},
        inputs={"X_small": X_train.drop(columns="f4"), "y_train": y_train}))
    comparison = registry.compare(first.id, second.id)
    assert comparison.data.loc[("X_train", "f4"), "change"] == "removed"
    assert comparison.inputs.loc[("X_train", "name"), second.id] == "X_small"
    assert (comparison.data["change"] != "").sum() == 1


def test_env_lists_only_packages_that_differ(registry, runs):
    a, b = runs[0], runs[1]
    b = dataclasses.replace(b, packages={**a.packages, "scikit-learn": "0.1.0", "no-such-package": "2.0"})
    comparison = Comparison([Target("a", "a", a), Target("b", "b", b)])
    env = comparison.env
    assert set(env.index) == {"scikit-learn", "no-such-package"}
    assert env.loc["scikit-learn", "b"] == "0.1.0"
    assert env.loc["no-such-package", "a"] is None


# ---- versions ---------------------------------------------------------------------------------------

def test_a_model_name_compares_all_its_versions_in_order(registry, versions, runs):
    assert [v.version for v in versions] == ["1.0.0", "2.0.0", "3.0.0"]
    comparison = nbmodels.compare("clf-model")  # the module API, on the default registry
    assert comparison.labels == ["clf-model@1.0.0", "clf-model@2.0.0", "clf-model@3.0.0"]
    assert comparison.model == "clf-model" and comparison.wants_chart
    assert comparison.metrics.loc["accuracy"].iloc[:3].tolist() == [0.90, 0.93, 0.85]
    # a version is compared through its run: code and data come from there
    assert "C=0.1" in comparison.code
    assert comparison.data.loc[("X_train", "f4"), "change"] == "removed"
    assert comparison.models.loc["run_id", "clf-model@2.0.0"] == runs[1].id
    assert comparison.models.loc["version", "clf-model@3.0.0"] == "3.0.0"


def test_stage_refs_and_the_same_ref_twice(registry, versions):
    registry.set_stage("clf-model@1.0.0", "production")
    comparison = registry.compare("clf-model@production", "clf-model@production")
    assert comparison.labels == ["clf-model@production", "clf-model@production (2)"]
    assert not comparison.params["changed"].any()
    assert set(comparison.metrics["change clf-model@production (2)"]) == {"same"}
    assert comparison.code == "" and not comparison.code_diffs[0].changed
    assert (comparison.data["change"] == "").all()
    assert comparison.models.loc["stage", "clf-model@production"] == "production"


def test_a_version_without_a_run_compares_params_and_metrics_only(registry, versions, data):
    X_train, _, y_train, _ = data
    untracked = LogisticRegression(C=3.0, max_iter=200).fit(X_train, y_train)
    registry.register(untracked, "clf-model")
    latest = registry.get("clf-model")
    assert latest.run_id is None
    comparison = registry.compare("clf-model@1.0.0", latest.ref)
    assert comparison.params.loc["C", latest.ref] == 3.0
    assert bool(comparison.params.loc["C", "changed"]) is True
    assert comparison.sources[latest.ref] is None and comparison.code == ""
    assert (comparison.data["change"] == "").all()  # unknown data is not "removed"
    assert len(comparison.env) == 0


def test_versions_and_runs_mix(registry, versions, runs):
    comparison = registry.compare("clf-model@1.0.0", runs[1].id)
    assert comparison.models.loc["kind"].tolist()[:2] == ["version", "run"]
    assert comparison.params.loc["C", runs[1].id] == 0.1


# ---- importance and scores -------------------------------------------------------------------------

def test_importance_from_coef_sorted_by_change(registry, versions, models):
    comparison = registry.compare("clf-model@1.0.0", "clf-model@2.0.0")
    importance = comparison.importance
    assert set(importance.index) == {f"f{i}" for i in range(5)}
    assert importance.loc["f2", "clf-model@1.0.0"] == pytest.approx(models[0].coef_[0][2])
    assert importance.loc["f2", "clf-model@2.0.0"] == pytest.approx(models[1].coef_[0][2])
    assert math.isnan(importance.loc["f4", "clf-model@2.0.0"])
    changes = importance["change"].dropna().abs().tolist()
    assert changes == sorted(changes, reverse=True)
    assert feature_importance(object()) is None


def test_champion_challenger_scores_equal_sklearns(registry, versions, data, models):
    _, X_test, _, y_test = data
    comparison = registry.compare("clf-model@1.0.0", "clf-model@2.0.0", on=(X_test, y_test))
    scores = comparison.scores
    for label, model, X in (("clf-model@1.0.0", models[0], X_test),
                            ("clf-model@2.0.0", models[1], X_test.drop(columns="f4"))):
        predicted = model.predict(X)
        assert scores.loc["accuracy", label] == pytest.approx(skm.accuracy_score(y_test, predicted))
        assert scores.loc["f1", label] == pytest.approx(skm.f1_score(y_test, predicted))
        assert scores.loc["roc_auc", label] == pytest.approx(
            skm.roc_auc_score(y_test, model.predict_proba(X)[:, 1]))
    expected = np.mean(models[0].predict(X_test) != models[1].predict(X_test.drop(columns="f4")))
    assert comparison.disagreement["clf-model@2.0.0"] == pytest.approx(expected)
    assert scores.loc["disagreement", "clf-model@2.0.0"] == pytest.approx(expected)
    assert scores.loc["disagreement", "clf-model@1.0.0"] == 0.0
    assert scores.loc["disagreement", "change clf-model@2.0.0"] == ""


def test_regressor_scores_equal_sklearns(registry):
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=1)
    weak, strong = Ridge(alpha=500.0).fit(X, y), Ridge(alpha=0.1).fit(X, y)
    registry.register(weak, "reg")
    registry.register(strong, "reg")
    comparison = registry.compare("reg@1.0.0", "reg@1.1.0", on=(X, y))
    scores = comparison.scores
    for label, model in (("reg@1.0.0", weak), ("reg@1.1.0", strong)):
        predicted = model.predict(X)
        assert scores.loc["rmse", label] == pytest.approx(
            math.sqrt(skm.mean_squared_error(y, predicted)))
        assert scores.loc["mae", label] == pytest.approx(skm.mean_absolute_error(y, predicted))
        assert scores.loc["r2", label] == pytest.approx(skm.r2_score(y, predicted))
    assert scores.loc["rmse", "change reg@1.1.0"] == "better"
    assert scores.loc["r2", "change reg@1.1.0"] == "better"
    assert comparison.disagreement["reg@1.1.0"] == 1.0


def test_multiclass_scores_use_macro_f1_and_ovr_auc(registry):
    X, y = load_iris(return_X_y=True)
    a = LogisticRegression(max_iter=500).fit(X, y)
    b = LogisticRegression(C=0.01, max_iter=500).fit(X, y)
    registry.register(a, "iris")
    registry.register(b, "iris")
    scores = registry.compare("iris@1.0.0", "iris@1.1.0", on=(X, y)).scores
    assert scores.loc["f1_macro", "iris@1.1.0"] == pytest.approx(
        skm.f1_score(y, b.predict(X), average="macro"))
    assert scores.loc["roc_auc", "iris@1.0.0"] == pytest.approx(
        skm.roc_auc_score(y, a.predict_proba(X), multi_class="ovr"))


def test_scoring_needs_matching_rows_and_columns(registry, versions, data):
    _, X_test, _, y_test = data
    with pytest.raises(InvalidInputError, match="rows"):
        registry.compare("clf-model@1.0.0", "clf-model@2.0.0", on=(X_test, y_test[:5]))
    with pytest.raises(InvalidInputError, match="f1"):
        registry.compare("clf-model@1.0.0", "clf-model@2.0.0",
                         on=(X_test.drop(columns="f1"), y_test))


# ---- output ------------------------------------------------------------------------------------------

def test_to_dict_is_plain_json(registry, versions, data):
    _, X_test, _, y_test = data
    comparison = registry.compare("clf-model@1.0.0", "clf-model@2.0.0", on=(X_test, y_test))
    payload = json.loads(json.dumps(comparison.to_dict(), allow_nan=False))
    assert payload["refs"] == ["clf-model@1.0.0", "clf-model@2.0.0"]
    assert set(payload) >= {"params", "metrics", "code", "data", "data_stats", "inputs", "env",
                            "models", "importance", "scores", "disagreement", "summary",
                            "targets", "warnings"}
    c_row = next(r for r in payload["params"] if r["param"] == "C")
    assert c_row == {"param": "C", "values": {"clf-model@1.0.0": 1.0, "clf-model@2.0.0": 0.1},
                     "changed": True}
    loss = next(r for r in payload["metrics"] if r["name"] == "log_loss")
    assert loss["change"] == {"clf-model@2.0.0": "worse"} and loss["lower_is_better"] is True
    dropped = next(r for r in payload["data"] if r["column"] == "f4")
    assert dropped["change"] == "removed" and dropped["values"]["clf-model@2.0.0"] is None
    assert "C=0.1" in payload["code"]["unified"]
    assert payload["code"]["diffs"][0]["rows"][0]["tag"] == "replace"
    assert payload["summary"]["params_changed"] == 1
    assert any(r["feature"] == "f4" and r["values"]["clf-model@2.0.0"] is None
               for r in payload["importance"])
    assert registry.compare("clf-model@1.0.0", "clf-model@2.0.0").to_dict(
        importance=False)["importance"] is None


def test_to_text_report(registry, runs):
    a, b = runs[0].id, runs[1].id
    text = registry.compare(a, b).to_text()
    assert text.startswith(f"Comparing {a} ↔ {b}\n")
    assert f"1 of {len(runs[0].params)} params changed" in text
    assert "== Metrics" in text and "worse" in text and "better" in text
    assert "== Params (1 changed" in text
    assert "+clf = LogisticRegression(C=0.1" in text
    assert "== Data (1 schema change(s))" in text and "removed" in text


# ---- errors ------------------------------------------------------------------------------------------

def test_bad_refs(registry, versions, runs):
    with pytest.raises(InvalidInputError, match="nothing to compare"):
        registry.compare()
    with pytest.raises(InvalidInputError, match="two or more"):
        registry.compare("clf-model@1.0.0")
    with pytest.raises(InvalidInputError, match="is a run"):
        registry.compare(runs[0].id)
    with pytest.raises(NotFoundError):
        registry.compare("clf-model@9.9.9", "clf-model@1.0.0")
    with pytest.raises(NotFoundError):
        registry.compare("nosuchmodel")
    with pytest.raises(InvalidInputError):
        registry.compare("bad name!", "clf-model")
    with pytest.raises(InvalidInputError, match="pair"):
        registry.compare("clf-model@1.0.0", "clf-model@2.0.0", on=(1, 2, 3))


def test_the_engine_does_not_import_widgets():
    import subprocess
    import sys

    code = ("import sys, nbmodels.comparison; "
            "assert 'ipywidgets' not in sys.modules and 'IPython' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_to_text_keeps_small_and_large_numbers(registry, data):
    from sklearn.linear_model import LogisticRegression as LR

    X_train, _, y_train, _ = data
    refs = []
    for tol, loss in ((1e-9, 1e-9), (1e-4, 2.5e-9)):
        model = LR(tol=tol, max_iter=200).fit(X_train, y_train)
        _clock[0] += timedelta(seconds=5)
        refs.append(registry.record_run(CellRecord(
            source=f"clf = LR(tol={tol})", experiment="tiny", status="ok", started_at=_clock[0],
            ended_at=_clock[0], values={"clf": model, "val_loss": loss, "big": 123456789.0},
            inputs={"X_train": X_train})).id)
    text = registry.compare(*refs).to_text()
    params = text.split("== Params")[1].split("==")[0]
    assert "1e-09" in params and "0.0001" in params and " 0.0 " not in params
    metrics = text.split("== Metrics")[1].split("==")[0]
    assert "1e-09" in metrics and "2.5e-09" in metrics and "1.5e-09" in metrics


def test_importance_of_a_forest_is_scikit_learns_without_its_thread_pool():
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier

    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    for model in (RandomForestClassifier(n_estimators=15, n_jobs=2, random_state=0).fit(X, y),
                  ExtraTreesRegressor(n_estimators=5, random_state=0).fit(X, y.astype(float))):
        found = feature_importance(model)
        assert np.allclose(list(found.values()), model.feature_importances_)


def test_importance_with_a_limit_keeps_the_largest_by_magnitude():
    """A model with millions of coefficients: the largest, found block by block."""
    rng = np.random.default_rng(0)
    model = Ridge().fit(rng.normal(size=(3, 2)), rng.normal(size=3))
    model.coef_ = rng.normal(size=300_007)
    model.coef_[[5, 299_999]] = [np.nan, -50.0]
    found = feature_importance(model, limit=100)
    magnitude = np.nan_to_num(np.abs(model.coef_))
    expected = [f"x{i}" for i in np.argsort(-magnitude, kind="stable")[:100]]
    assert list(found) == expected and found["x299999"] == -50.0

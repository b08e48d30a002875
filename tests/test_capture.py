"""capture: cell names, change detection, roles, models, data summaries, environment."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from nbmodels.capture import (
    CellNames,
    DataSummary,
    cell_names,
    changed_names,
    environment,
    experiment_name,
    git_info,
    is_data,
    is_metric_name,
    is_model,
    json_value,
    model_params,
    model_signature,
    notebook_path,
    role_of,
    short_type_name,
    snapshot,
    summarize_data,
    type_name,
)

# --------------------------------------------------------------------------- cell_names


def names(source: str) -> CellNames:
    return cell_names(textwrap.dedent(source))


@pytest.mark.parametrize(
    "source, bound",
    [
        ("a, (b, *c) = 1, (2, 3)", {"a", "b", "c"}),
        ("[x, y] = z = [1, 2]", {"x", "y", "z"}),
        ("n: int = 3\nm: int", {"n"}),
        ("total += 1", {"total"}),
        ("for i, row in enumerate(rows):\n    last = row", {"i", "row", "last"}),
        ("with open(p) as f, lock:\n    text = f.read()", {"f", "text"}),
        ("if (k := 3) > 2:\n    pass", {"k"}),
        ("vals = [w := v for v in range(3)]", {"vals", "w"}),
        ("if flag:\n    a = 1\nelse:\n    b = 2\ntry:\n    c = 3\nexcept E:\n    d = 4", {"a", "b", "c", "d"}),
        ("df['col'] = 1\nobj.attr = 2", set()),
        ("import numpy as np\nfrom os import path", set()),
        ("def f():\n    inner = 1\nclass C:\n    attr = 2\ng = lambda: 0", {"g"}),
        ("squares = [i * i for i in range(3)]", {"squares"}),
        ("async def h():\n    x = 1", set()),
    ],
)
def test_cell_names_bound(source, bound):
    assert names(source).bound == bound


def test_cell_names_read_includes_loads_everywhere_and_augmented_targets():
    cell = names(
        """
        total += base
        model = make(data)
        def f():
            return helper(inner_global)
        out = [g(v) for v in values]
        """
    )
    assert {"total", "base", "make", "data", "helper", "inner_global", "g", "values"} <= cell.read
    assert "model" not in cell.read and "out" not in cell.read


def test_cell_names_fitted_receivers():
    cell = names(
        """
        clf.fit(X, y)
        Z = scaler.fit_transform(X)
        sgd.partial_fit(X, y)
        labels = km.fit_predict(X)
        net.train()
        pipe.named_steps["clf"].fit(X, y)
        def later():
            hidden.fit(X, y)
        print(len(X))
        """
    )
    assert cell.fitted == {"clf", "scaler", "sgd", "km", "net"}
    assert "clf" not in cell.bound


def test_cell_names_syntax_error_gives_empty_sets():
    assert names("x = (1,\n") == CellNames(frozenset(), frozenset(), frozenset())
    assert cell_names("a = 1\x00") == CellNames()


# --------------------------------------------------------------------------- snapshot / changed


def test_snapshot_keeps_references_of_present_names_only():
    frame = pd.DataFrame({"a": [1]})
    namespace = {"df": frame, "n": 1}
    snap = snapshot(namespace, ["df", "missing"])
    assert snap == {"df": frame} and snap["df"] is frame


def test_changed_names_uses_identity():
    same, old, untouched = object(), [1, 2], "keep"
    before = snapshot({"same": same, "old": old, "untouched": untouched}, ["same", "old"])
    after = {"same": same, "old": [1, 2], "untouched": untouched, "new": 3, "_private": 4}
    # Given the cell rebound `same` to the same object and `old` to an equal new list
    assert changed_names(before, after, {"same", "old", "new", "_private", "gone"}) == ["new", "old"]


def test_changed_names_includes_fitted_models_and_skips_modules():
    model = object()
    before = {"model": model, "xgb": os}
    after = {"model": model, "xgb": os}
    assert changed_names(before, after, set(), {"model", "xgb", "absent"}) == ["model"]


# --------------------------------------------------------------------------- names and roles


@pytest.mark.parametrize(
    "name, expected",
    [
        ("val_loss", True), ("test_acc", True), ("f1", True), ("roc_auc", True),
        ("r2_test", True), ("accuracy", True), ("cv_score", True), ("testAcc", True),
        ("f1score", True), ("top5acc", True), ("logloss", True), ("rmse", True),
        ("mean_absolute_error", True), ("map", True), ("valLoss2", True),
        ("loss_fn", False), ("score_threshold", False), ("loss_weight", False),
        ("n_estimators", False), ("scores_list", False), ("accumulate", False),
        ("heatmap", False), ("capacity", False), ("learning_rate", False), ("x", False),
    ],
)
def test_is_metric_name(name, expected):
    assert is_metric_name(name) is expected


class DuckModel:
    def fit(self, X, y):
        return self

    def predict(self, X):
        return X


@pytest.mark.parametrize(
    "name, value, role",
    [
        ("val_loss", 0.25, "metric"),
        ("accuracy", np.float32(0.9), "metric"),
        ("train_error", 3, "metric"),
        ("acc", True, "param"),  # a bool is a flag, not a measurement
        ("learning_rate", 0.1, "param"),
        ("seed", np.int64(7), "param"),
        ("solver", "lbfgs", "param"),
        ("nothing", None, "param"),
        ("layers", (64, 32), "param"),
        ("grid", {"C": 1.0, "penalty": "l2"}, "param"),
        ("big", list(range(51)), "other"),
        ("int_keys", {1: 2}, "other"),
        ("nested", [[1]], "other"),
        ("text", "x" * 20_000, "other"),
        ("loss_fn", len, "other"),
        ("df", pd.DataFrame({"a": [1]}), "data"),
        ("y", pd.Series([1, 2]), "data"),
        ("X", np.zeros((2, 2)), "data"),
        ("model", DuckModel(), "model"),
        ("Model", DuckModel, "other"),
    ],
)
def test_role_of(name, value, role):
    assert role_of(name, value) == role


def test_role_of_explicit_lists_win():
    assert role_of("threshold", 0.5, metrics=["threshold"]) == "metric"
    assert role_of("val_loss", 0.5, params=["val_loss"]) == "param"
    assert role_of("weights", np.zeros(3), params=("weights",)) == "param"


def test_json_value_and_type_names():
    assert json_value((np.int64(1), np.float32(0.5), "a")) == [1, 0.5, "a"]
    assert type(json_value(np.bool_(True))) is bool
    assert json_value({"k": (np.int32(2),)}) == {"k": [2]}
    assert math.isnan(json_value(np.float64("nan")))
    from sklearn.linear_model import LogisticRegression

    assert type_name(LogisticRegression()) == "sklearn.linear_model._logistic.LogisticRegression"
    assert short_type_name(LogisticRegression()) == "LogisticRegression"
    assert type_name(3) == "int"


# --------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(scale=0.1, size=60) > 0).astype(int)
    return X, y


def test_is_model_sklearn_only_when_fitted(xy):
    from sklearn.linear_model import LogisticRegression

    X, y = xy
    model = LogisticRegression()
    assert is_model(model) is False
    model.fit(X, y)
    assert is_model(model) is True
    assert is_model(LogisticRegression) is False


def test_is_model_pipeline_with_column_transformer(xy):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = xy
    X = X.assign(kind=np.where(X["b"] > 0, "hi", "lo"))
    pre = ColumnTransformer([("num", StandardScaler(), ["a", "b", "c"]), ("cat", OneHotEncoder(), ["kind"])])
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(C=0.5))])
    assert is_model(pipe) is False
    pipe.fit(X, y)
    assert is_model(pipe) is True
    params = model_params(pipe)
    assert params["clf__C"] == 0.5 and params["clf"] == "LogisticRegression"
    assert params["pre"] == "ColumnTransformer" and "steps" not in params
    json.dumps(params)
    assert model_signature(pipe) == {"features": ["a", "b", "c", "kind"], "n_features": 4}


def test_sklearn_params_and_signature(xy):
    from sklearn.linear_model import LogisticRegression

    X, y = xy
    model = LogisticRegression(C=2.0, class_weight={0: 1, 1: 2}).fit(X, y)
    params = model_params(model)
    assert params["C"] == 2.0 and params["class_weight"] == {"0": 1, "1": 2}
    json.dumps(params)
    assert model_signature(model) == {"features": ["a", "b", "c"], "n_features": 3}
    numpy_model = LogisticRegression().fit(X.to_numpy(), y)
    assert model_signature(numpy_model) == {"features": None, "n_features": 3}
    assert model_signature(LogisticRegression()) is None


def test_xgboost(xy):
    import xgboost

    X, y = xy
    model = xgboost.XGBClassifier(n_estimators=3, max_depth=2)
    assert is_model(model) is False
    model.fit(X, y)
    assert is_model(model) is True and is_model(model.get_booster()) is True
    assert model_params(model)["max_depth"] == 2
    assert model_signature(model) == {"features": ["a", "b", "c"], "n_features": 3}
    assert model_signature(model.get_booster()) == {"features": ["a", "b", "c"], "n_features": 3}
    numpy_model = xgboost.XGBRegressor(n_estimators=2).fit(X.to_numpy(), y)
    assert model_signature(numpy_model.get_booster()) == {"features": None, "n_features": 3}


def test_lightgbm(xy):
    import lightgbm

    X, y = xy
    model = lightgbm.LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1)
    assert is_model(model) is False
    model.fit(X, y)
    assert is_model(model) is True and is_model(model.booster_) is True
    assert model_params(model)["num_leaves"] == 4
    assert model_signature(model) == {"features": ["a", "b", "c"], "n_features": 3}
    assert model_signature(model.booster_) == {"features": ["a", "b", "c"], "n_features": 3}
    numpy_model = lightgbm.LGBMRegressor(n_estimators=2, verbose=-1).fit(X.to_numpy(), y)
    assert model_signature(numpy_model) == {"features": None, "n_features": 3}


def test_torch():
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert is_model(net) is True and is_model(torch.nn.Sequential) is False
    assert model_params(net) == {}
    assert model_signature(net) == {"features": None, "n_features": 5}
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))
    assert model_signature(conv) == {"features": None, "n_features": 3}
    assert model_signature(torch.nn.ReLU()) is None


def test_duck_typed_and_non_models():
    assert is_model(DuckModel()) is True
    assert is_model(DuckModel) is False
    assert is_model(object()) is False
    assert is_model(pd.DataFrame()) is False
    assert model_signature(DuckModel()) is None
    assert model_params(DuckModel()) == {}

    class Exploding:
        def __getattr__(self, name):
            raise RuntimeError(name)

    assert is_model(Exploding()) is False
    assert model_signature(Exploding()) is None


def test_import_pulls_in_no_ml_library_or_ipython():
    code = textwrap.dedent(
        """
        import sys
        from nbmodels.capture import is_model, role_of, is_data, cell_names, changed_names
        assert is_model(object()) is False
        assert role_of("x", 1) == "param" and role_of("val_loss", 0.5) == "metric"
        assert is_data([1]) is False
        cell_names("m.fit(X, y)")
        heavy = ("sklearn", "torch", "xgboost", "lightgbm", "IPython", "ipywidgets",
                 "sqlite_utils", "pandas", "numpy", "tensorflow", "keras")
        print(sorted(name for name in heavy if name in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- data


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "x": [1.5, 2.5, np.nan, 4.0],
            "n": np.array([1, 2, 3, 4], dtype="int64"),
            "flag": [True, False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "name": pd.array(["a", "b", "a", None], dtype="string"),
            "cat": pd.Categorical(["u", "v", "u", "u"]),
            "obj": pd.Series([1, "two", 3.0, None], dtype=object),
        }
    )


def fingerprint(value) -> str:
    return summarize_data(value).fingerprint


def test_fingerprint_equal_for_equal_data(frame):
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) == fingerprint(frame.copy(deep=True))
    # The same numbers in one block or in separate ones
    one_block = pd.DataFrame(np.arange(6.0).reshape(3, 2), columns=["p", "q"])
    two_blocks = pd.DataFrame({"p": [0.0, 2.0, 4.0]})
    two_blocks["q"] = [1.0, 3.0, 5.0]
    assert fingerprint(one_block) == fingerprint(two_blocks)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(x=[1.5, 2.5, np.nan, 4.5]),
        lambda f: f.assign(n=[1, 2, 3, 5]),
        lambda f: f.assign(name=pd.array(["a", "b", "c", None], dtype="string")),
        lambda f: f.assign(cat=pd.Categorical(["u", "v", "v", "u"])),
        lambda f: f.assign(obj=pd.Series([1, "two", 3.0, "x"], dtype=object)),
        lambda f: f.assign(when=pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-05"])),
        lambda f: f.rename(columns={"x": "y"}),
        lambda f: f.astype({"n": "int32"}),
        lambda f: f.astype({"name": object}),
        lambda f: f.iloc[::-1],
        lambda f: f.iloc[::-1].reset_index(drop=True),
        lambda f: f.set_axis([10, 11, 12, 13]),
        lambda f: f[["n", "x", "flag", "when", "name", "cat", "obj"]],
    ],
)
def test_fingerprint_changes_with_content(frame, change):
    assert fingerprint(change(frame)) != fingerprint(frame)


def test_fingerprint_after_in_place_edit(frame):
    before = fingerprint(frame)
    frame.loc[0, "x"] = 9.0
    assert fingerprint(frame) != before


def test_frame_schema_and_stats_match_pandas(frame):
    summary = summarize_data(frame)
    assert isinstance(summary, DataSummary) and summary.type == type_name(frame)
    assert summary.schema["kind"] == "DataFrame" and summary.schema["shape"] == [4, 7]
    assert list(summary.schema["columns"]) == ["x", "n", "flag", "when", "name", "cat", "obj"]
    assert summary.schema["columns"]["cat"] == "category"
    x = summary.stats["x"]
    assert x["count"] == 3 and x["nulls"] == 1
    assert x["mean"] == pytest.approx(frame["x"].mean()) and x["std"] == pytest.approx(frame["x"].std())
    assert (x["min"], x["max"]) == (1.5, 4.0)
    assert summary.stats["n"]["std"] == pytest.approx(frame["n"].std())
    assert summary.stats["when"] == {"count": 3, "nulls": 1, "min": "2024-01-01T00:00:00", "max": "2024-01-04T00:00:00"}
    assert summary.stats["name"] == {"count": 3, "nulls": 1, "distinct": 2, "top": "a"}
    assert summary.stats["cat"]["top"] == "u" and summary.stats["cat"]["distinct"] == 2
    assert summary.stats["flag"]["mean"] == 0.75
    assert summary.nbytes > 0
    json.dumps(summary.to_dict(), allow_nan=False)


def test_default_string_dtype_and_wide_frames():
    strings = pd.DataFrame({"s": ["a", "b", None]})  # pandas 3: the new `str` dtype
    summary = summarize_data(strings)
    assert summary.stats["s"]["nulls"] == 1
    assert fingerprint(strings) != fingerprint(pd.DataFrame({"s": ["a", "c", None]}))
    wide = pd.DataFrame(np.ones((2, 300)))
    assert len(summarize_data(wide).stats) == 200
    assert summarize_data(wide).schema["columns"]["299"] == "float64"


def test_unhashable_objects_and_nullable_dtypes():
    lists = pd.DataFrame({"l": [[1], [2, 3], None], "i": pd.array([1, None, 3], dtype="Int64")})
    summary = summarize_data(lists)
    assert summary.stats["i"] == {"count": 2, "nulls": 1, "mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1, "max": 3}
    edited = lists.copy()
    edited.at[0, "l"] = [9]
    assert fingerprint(edited) != summary.fingerprint
    json.dumps(summary.to_dict(), allow_nan=False)


def test_series_summary():
    series = pd.Series([1.0, 2.0, 4.0], name="target", index=["a", "b", "c"])
    summary = summarize_data(series)
    assert summary.schema == {"kind": "Series", "name": "target", "dtype": "float64", "shape": [3]}
    assert summary.stats["target"]["mean"] == pytest.approx(series.mean())
    assert fingerprint(series) == fingerprint(series.copy())
    assert fingerprint(series) != fingerprint(series.rename("other"))
    assert fingerprint(series) != fingerprint(series.set_axis(["a", "b", "d"]))
    assert fingerprint(series) != fingerprint(series.to_frame())


def test_ndarray_summaries():
    one = np.array([1.0, np.nan, 3.0])
    stats = summarize_data(one).stats
    assert stats == {"value": {"count": 2, "nulls": 1, "mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1.0, "max": 3.0}}

    two = np.arange(12, dtype="int32").reshape(4, 3)
    summary = summarize_data(two)
    assert summary.schema == {"kind": "ndarray", "dtype": "int32", "shape": [4, 3]}
    assert list(summary.stats) == ["0", "1", "2"]
    assert summary.stats["1"]["mean"] == pytest.approx(pd.Series(two[:, 1]).mean())
    assert summary.stats["1"]["std"] == pytest.approx(pd.Series(two[:, 1]).std())
    assert summary.nbytes == two.nbytes

    three = np.arange(24.0).reshape(2, 3, 4)
    assert summarize_data(three).stats["value"]["max"] == 23.0
    assert len(summarize_data(np.zeros((2, 150))).stats) == 100

    # The same content in C or Fortran order is the same data; a reshape is not.
    assert fingerprint(two) == fingerprint(np.asfortranarray(two))
    assert fingerprint(two) != fingerprint(two.reshape(3, 4))
    assert fingerprint(two) != fingerprint(two.astype("int64"))
    changed = two.copy()
    changed[3, 2] = -1
    assert fingerprint(two) != fingerprint(changed)
    assert fingerprint(np.array(["a", None], dtype=object)) != fingerprint(np.array(["b", None], dtype=object))
    assert summarize_data(np.array([], dtype=float)).stats["value"]["mean"] is None
    json.dumps([summarize_data(v).to_dict() for v in (one, two, three)], allow_nan=False)


def test_is_data_and_summarize_rejects_other_values():
    assert is_data(np.zeros(1)) and is_data(pd.Series(dtype=float)) and not is_data([1, 2])
    with pytest.raises(TypeError):
        summarize_data([1, 2])


# --------------------------------------------------------------------------- environment


def test_environment_lists_imported_packages():
    env = environment()
    assert env["python"].count(".") == 2
    assert env["packages"]["numpy"] == np.__version__
    assert env["packages"]["pandas"] == pd.__version__
    assert "host" in env and "user" in env
    env["packages"].clear()  # callers get a copy
    assert environment()["packages"]["numpy"] == np.__version__


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_git_info_in_a_repository(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    assert git_info(tmp_path) == {"commit": None, "branch": "main", "dirty": False}
    (tmp_path / "train.py").write_text("a = 1\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    info = git_info(tmp_path)
    assert info["branch"] == "main" and info["dirty"] is False and len(info["commit"]) == 40
    (tmp_path / "untracked.txt").write_text("ignored")
    assert git_info(tmp_path)["dirty"] is False
    (tmp_path / "train.py").write_text("a = 2\n")
    assert git_info(tmp_path)["dirty"] is True
    git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path)["branch"] is None


def test_git_info_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_info(tmp_path) is None
    assert git_info(tmp_path / "missing") is None


# --------------------------------------------------------------------------- notebook


def test_notebook_path(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert notebook_path({}, str(tmp_path)) is None
    assert notebook_path({"__vsc_ipynb_file__": "/w/a.ipynb"}, str(tmp_path)) == os.path.abspath("/w/a.ipynb")
    notebook = tmp_path / "train.ipynb"
    notebook.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", "project/train.ipynb")
    assert notebook_path({}, str(tmp_path)) == str(notebook.resolve())
    monkeypatch.setenv("JPY_SESSION_NAME", "project/absent.ipynb")
    assert notebook_path({}, str(tmp_path)) is None
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert notebook_path({}, "/") == str(notebook)


def test_experiment_name():
    assert experiment_name("/w/churn model.ipynb") == "churn model"
    assert experiment_name(None) == "default"


def test_model_params_names_objects_it_cannot_store():
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    params = model_params(BaggingClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=3))
    assert params["estimator"] == "DecisionTreeClassifier" and params["n_estimators"] == 3
    json.dumps(params)


def test_cell_names_read_first_are_the_cells_inputs():
    names = cell_names("features = X.drop(columns=['a'])\n"
                               "model.fit(features, y)\n"
                               "X = X * 2\n")
    assert names.read_first == {"X", "y", "model"}  # not `features`: bound before read


def test_a_fitted_transformer_is_not_a_model(xy):
    from sklearn.preprocessing import StandardScaler

    X, _ = xy
    assert not is_model(StandardScaler().fit(X))


def test_summaries_are_described_once_per_fingerprint(monkeypatch):
    import nbmodels.capture.data as capture_module

    frame = pd.DataFrame({"a": np.arange(10.0)})
    calls = []
    real = capture_module._describe
    monkeypatch.setattr(capture_module, "_describe", lambda v: calls.append(1) or real(v))
    first = summarize_data(frame)
    again = summarize_data(frame.copy())
    assert first == again and len(calls) == 1  # same content: described once
    changed = summarize_data(frame.assign(a=frame["a"] + 1))
    assert changed.fingerprint != first.fingerprint and len(calls) == 2


# --------------------------------------------------------------------------- bounded memory


@pytest.fixture
def small_chunks(monkeypatch):
    """Blocks of 256 bytes: every array below spans many blocks (and rows of blocks)."""
    import nbmodels.capture.blocks as blocks
    import nbmodels.capture.data as capture_module

    monkeypatch.setattr(blocks, "CHUNK_BYTES", 256)
    capture_module._DESCRIBED.clear()
    yield capture_module
    capture_module._DESCRIBED.clear()


def _expected(column: pd.Series) -> dict:
    count = int(column.count())
    expected = {"count": count, "nulls": len(column) - count}
    for stat in ("mean", "std", "min", "max"):
        value = getattr(column, stat)()
        expected[stat] = None if pd.isna(value) else pytest.approx(float(value), rel=1e-9, abs=1e-9)
    return expected


def _stats(value, capture_module):
    capture_module._DESCRIBED.clear()
    return summarize_data(value).stats


def test_chunked_array_stats_equal_numpy_and_pandas(small_chunks):
    rng = np.random.default_rng(7)
    floats = rng.normal(100.0, 3.0, size=(1000, 5))
    floats[::7, 1] = np.nan
    floats[:, 2] = np.nan  # a column with no value at all
    floats[500:, 3] = np.nan  # values in the first blocks only
    stats = _stats(floats, small_chunks)
    for j in range(5):
        assert stats[str(j)] == _expected(pd.Series(floats[:, j])), j
    assert stats["2"] == {"count": 0, "nulls": 1000, "mean": None, "std": None, "min": None, "max": None}
    assert stats["1"]["mean"] == pytest.approx(np.nanmean(floats[:, 1]), rel=1e-12)
    assert stats["1"]["std"] == pytest.approx(np.nanstd(floats[:, 1], ddof=1), rel=1e-9)
    # Fortran order and the first 100 columns of a wider array: the same numbers
    assert _stats(np.asfortranarray(floats), small_chunks) == stats
    wide = np.tile(floats, (1, 30))
    stats = _stats(wide, small_chunks)
    assert list(stats) == [str(j) for j in range(100)]
    for j in (0, 1, 2, 3, 56, 99):
        assert stats[str(j)] == _expected(pd.Series(wide[:, j])), j

    # Integers beyond 2**53 whose int64 sum would overflow: float64 accumulators.
    big = rng.integers(2**61, 2**62, size=(3000, 2), dtype=np.int64)
    stats = _stats(big, small_chunks)
    for j in range(2):
        column = big[:, j].astype(np.float64)
        assert stats[str(j)]["mean"] == pytest.approx(column.mean(), rel=1e-12)
        assert stats[str(j)]["std"] == pytest.approx(column.std(ddof=1), rel=1e-9)
        assert stats[str(j)]["min"] == int(big[:, j].min()) and isinstance(stats[str(j)]["min"], int)
        assert stats[str(j)]["max"] == int(big[:, j].max())
    small = rng.integers(0, 255, size=5000, dtype=np.uint8)  # sums far past uint8
    assert _stats(small, small_chunks)["value"] == _expected(pd.Series(small))

    # 1-D with NaNs, N-D not contiguous, booleans (as 0.0/1.0), float32
    one = rng.normal(size=4001)
    one[::3] = np.nan
    assert _stats(one, small_chunks)["value"] == _expected(pd.Series(one))
    cube = rng.normal(size=(60, 7, 9))[::2, :, 1:]
    assert not cube.flags.c_contiguous and not cube.flags.f_contiguous
    assert _stats(cube, small_chunks)["value"] == _expected(pd.Series(cube.reshape(-1)))
    flags = rng.random((900, 2)) < 0.3
    stats = _stats(flags, small_chunks)
    assert stats["0"] == _expected(pd.Series(flags[:, 0].astype(float)))
    assert isinstance(stats["0"]["min"], float)
    single = rng.normal(size=(800, 3)).astype(np.float32)
    assert _stats(single, small_chunks)["1"]["std"] == pytest.approx(single[:, 1].astype(np.float64).std(ddof=1), rel=1e-9)

    # Empty and one-value arrays
    empty = {"count": 0, "nulls": 0, "mean": None, "std": None, "min": None, "max": None}
    assert _stats(np.array([], dtype=float), small_chunks)["value"] == empty
    assert _stats(np.zeros((0, 3), dtype=np.int64), small_chunks) == {str(j): empty for j in range(3)}
    assert _stats(np.zeros((5, 0)), small_chunks) == {}
    assert _stats(np.array(2.5), small_chunks)["value"] == {"count": 1, "nulls": 0, "mean": 2.5, "std": None, "min": 2.5, "max": 2.5}
    assert _stats(np.array([np.nan, np.inf]), small_chunks)["value"]["mean"] is None


def test_chunked_frame_and_series_stats_equal_pandas(small_chunks):
    rng = np.random.default_rng(8)
    n = 2000
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.2, np.nan, rng.normal(5.0, 2.0, n)),
        "i": rng.integers(-(2**62), 2**62, n),
        "b": rng.random(n) < 0.4,
        "I": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"),
        "F": pd.array(rng.normal(size=n), dtype="Float64"),
        "when": pd.Series(pd.date_range("2024-01-01", periods=n, freq="h")).where(rng.random(n) < 0.9),
        "s": rng.choice(np.array(["a", "b", "b", None], dtype=object), n),
        "cat": pd.Categorical(rng.choice(["u", "v", "v"], n)),
    })
    frame["late"] = np.nan
    frame.loc[n - 3:, "late"] = [1.0, 2.0, 4.0]  # values in the last block only
    stats = _stats(frame, small_chunks)
    for name in ("x", "i", "b", "I", "F", "late"):
        assert stats[name] == _expected(frame[name]), name
    assert stats["b"]["min"] is False and stats["b"]["max"] is True
    assert stats["I"]["min"] == 0 and isinstance(stats["I"]["max"], int)
    assert stats["when"] == {"count": int(frame["when"].count()), "nulls": int(frame["when"].isna().sum()),
                             "min": frame["when"].min().isoformat(), "max": frame["when"].max().isoformat()}
    assert stats["s"] == {"count": int(frame["s"].count()), "nulls": int(frame["s"].isna().sum()),
                          "distinct": 2, "top": "b"}
    assert stats["cat"]["distinct"] == 2 and stats["cat"]["top"] == "v"
    assert _stats(frame["x"], small_chunks)["x"] == _expected(frame["x"])
    empty = pd.DataFrame({"a": pd.Series([], dtype=float), "w": pd.Series([], dtype="datetime64[ns]")})
    assert _stats(empty, small_chunks) == {
        "a": {"count": 0, "nulls": 0, "mean": None, "std": None, "min": None, "max": None},
        "w": {"count": 0, "nulls": 0, "min": None, "max": None},
    }
    json.dumps(summarize_data(frame).to_dict(), allow_nan=False)


def test_fingerprints_do_not_depend_on_blocks(monkeypatch):
    import nbmodels.capture as capture_module
    import nbmodels.capture.blocks as blocks

    rng = np.random.default_rng(9)
    multi_block = pd.DataFrame(index=range(300))
    for j in range(6):
        multi_block[f"c{j}"] = rng.normal(size=300)
    lists = pd.Series([1, "a", 2.5] * 100 + [[1, 2]], dtype=object)  # unhashable only at the end
    values = [
        rng.normal(size=(400, 3)),
        np.asfortranarray(rng.normal(size=(400, 3))),
        rng.normal(size=(50, 6, 8))[::2, ::3],
        rng.normal(size=5000)[::7],
        np.array([["a", None, 3], ["b", "c", [1]]] * 200, dtype=object).T,
        multi_block,
        pd.DataFrame(rng.normal(size=(300, 6))),
        pd.DataFrame({"s": rng.choice(["x", "y", None], 500), "n": rng.normal(size=500)},
                     index=pd.MultiIndex.from_product([range(250), ["p", "q"]])),
        pd.Series(rng.choice(["x", "y"], 700), index=rng.normal(size=700).astype(str)),
        lists,
        lists.to_frame("l"),
    ]
    whole = [capture_module.data_fingerprint(value) for value in values]
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 64)
    assert [capture_module.data_fingerprint(value) for value in values] == whole
    # One block and several blocks of the same numbers still hash the same
    assert capture_module.data_fingerprint(multi_block) == capture_module.data_fingerprint(multi_block.copy())
    edited = lists.copy()
    edited.iloc[-1] = [1, 3]
    assert capture_module.data_fingerprint(edited) != whole[-2]


@pytest.mark.parametrize("kind", ["array", "fortran", "strided", "multi_block_frame", "series"])
def test_summaries_allocate_a_bounded_amount(kind):
    import tracemalloc

    import nbmodels.capture.blocks as blocks
    import nbmodels.capture.data as capture_module

    rng = np.random.default_rng(10)
    size = 16 * 2**20  # 16 MiB of float64; numpy reports its buffers to tracemalloc
    base = rng.normal(size=size // 8)
    base[::5] = np.nan
    value = {
        "array": lambda: base.reshape(-1, 8),
        "fortran": lambda: np.asfortranarray(base.reshape(-1, 8)),
        "strided": lambda: base.reshape(-1, 4, 2)[:, :, ::2],
        "multi_block_frame": lambda: pd.DataFrame({f"c{j}": base[j::4] for j in range(4)}).pipe(
            lambda f: f.assign(extra=f["c0"].to_numpy().copy())),
        "series": lambda: pd.Series(base),
    }[kind]()
    capture_module._DESCRIBED.clear()
    tracemalloc.start()
    try:
        summary = summarize_data(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.stats
    assert peak < 4 * blocks.CHUNK_BYTES + 2**20, peak

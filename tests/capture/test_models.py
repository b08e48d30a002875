"""capture.models and capture.containment: what is a model, its params, signature, default."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from nbmodels import capture
from nbmodels.capture import is_model, model_params, model_signature


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


def _estimators():
    from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest
    from sklearn.linear_model import LogisticRegression
    from sklearn.manifold import TSNE, Isomap
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return {
        "PCA": PCA(n_components=2), "SelectKBest": SelectKBest(k=2),
        "FeatureUnion": FeatureUnion([("pca", PCA(n_components=1)), ("kbest", SelectKBest(k=1))]),
        "DBSCAN": DBSCAN(), "AgglomerativeClustering": AgglomerativeClustering(),
        "SpectralClustering": SpectralClustering(n_clusters=2, random_state=0),
        "TSNE": TSNE(perplexity=5, max_iter=250, method="exact", random_state=0), "Isomap": Isomap(n_neighbors=5),
        "StandardScaler": StandardScaler(), "OneHotEncoder": OneHotEncoder(), "KMeans": KMeans(2, n_init=1),
        "Pipeline": make_pipeline(StandardScaler(), LogisticRegression()),
        "GridSearchCV": GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2),
    }


@pytest.mark.parametrize("name", list(_estimators()))
def test_every_fitted_sklearn_estimator_is_a_model(name, xy):
    """Issue 8 item 3: transformers, clusterers, decompositions, selectors, manifolds."""
    X, y = xy
    estimator = _estimators()[name]
    assert is_model(estimator) is False  # unfitted
    if name == "OneHotEncoder":
        X = X.assign(kind=np.where(X["b"] > 0, "hi", "lo"))[["kind"]]
    estimator.fit(X, y)
    assert is_model(estimator) is True
    json.dumps(model_params(estimator))


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


def test_model_params_keep_sets_none_and_nan():
    """Issue 8 items 5 and 7: a set is its sorted values, None is None, NaN is NaN."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV

    forest = model_params(RandomForestClassifier(max_depth=None))
    assert "max_depth" in forest and forest["max_depth"] is None
    search = model_params(GridSearchCV(RandomForestClassifier(), {"max_depth": [2, 3]}))
    assert np.isnan(search["error_score"])

    class WithSet:
        def get_params(self, deep=True):
            return {"features": {"b", "a", "c"}, "drop": frozenset({2, 1})}

    assert model_params(WithSet()) == {"features": ["a", "b", "c"], "drop": [1, 2]}


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


def test_losses_optimizers_and_parameterless_modules_are_not_models():
    """Issue 8 item 3: the MSELoss instance was taken for the model."""
    import torch

    net = torch.nn.Linear(2, 1)
    weighted = torch.nn.CrossEntropyLoss(weight=torch.ones(2))
    for value in (torch.nn.MSELoss(), weighted, torch.nn.ReLU(), torch.optim.SGD(net.parameters(), lr=0.1)):
        assert is_model(value) is False, value
    assert is_model(net) is True


class DuckModel:
    def fit(self, X, y):
        return self

    def predict(self, X):
        return X


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

    class Hostile:
        def __getattribute__(self, name):
            raise RuntimeError(name)

    class BadParams(DuckModel):
        def get_params(self, deep=True):
            raise RuntimeError("params")

    for value in (Exploding(), Hostile()):
        assert is_model(value) is False and model_signature(value) is None
        assert model_params(value) == {} and capture.training_state(value) is None
    assert model_params(BadParams()) == {}


def test_model_params_names_objects_it_cannot_store():
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    params = model_params(BaggingClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=3))
    assert params["estimator"] == "DecisionTreeClassifier" and params["n_estimators"] == 3
    json.dumps(params)


def test_import_pulls_in_no_ml_library_or_ipython():
    code = textwrap.dedent(
        """
        import sys
        from nbmodels.capture import is_model, role_of, is_data, cell_names, changed_names
        from nbmodels.capture import default_model, snapshot, cell_inputs, summarize_data
        assert is_model(object()) is False
        assert role_of("x", 1) == "param" and role_of("val_loss", 0.5) == "metric"
        assert is_data([1]) is False and default_model({"x": 1}) is None
        names = cell_names("m.fit(digits.data, y)")
        before = snapshot({"m": object(), "digits": object()}, names.read)
        assert cell_inputs(names, before) == {}
        heavy = ("sklearn", "torch", "xgboost", "lightgbm", "IPython", "ipywidgets", "scipy",
                 "sqlite_utils", "pandas", "numpy", "tensorflow", "keras")
        print(sorted(name for name in heavy if name in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- default model


def test_the_default_model_is_the_outer_one_that_predicts(xy):
    """Issue 8 item 3: the pipeline, not its steps; a predictor over a lone transformer."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = xy
    scaler, clf = StandardScaler(), LogisticRegression()
    pipe = make_pipeline(scaler, clf).fit(X, y)
    values = {"scaler": scaler, "clf": clf, "pipe": pipe, "C": 1.0, "X": X}
    assert capture.top_level_models(values) == ["pipe"]
    assert capture.default_model(values) == "pipe"

    pca = PCA(n_components=2).fit(X)
    lone = LogisticRegression().fit(pca.transform(X), y)
    assert capture.default_model({"pca": pca, "lone": lone}) == "lone"
    assert capture.default_model({"pca": pca}) == "pca"
    assert capture.default_model({"a": lone, "b": LogisticRegression().fit(X, y)}) is None
    assert capture.default_model({"model": lone, "alias": lone}) == "alias"  # one object
    assert capture.default_model({"x": 1, "df": X}) is None


def test_the_default_model_of_a_search_is_the_search(xy):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = xy
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    values = {"search": search, "best": search.best_estimator_}
    assert capture.top_level_models(values) == ["search"]
    assert capture.default_model(values) == "search"
    unrefit = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, refit=False).fit(X, y)
    assert capture.default_model({"search": unrefit, "clf": LogisticRegression().fit(X, y)}) == "clf"


def test_boosters_and_layers_are_inside_their_models(xy):
    import lightgbm
    import torch
    import xgboost

    X, y = xy
    xgb_model = xgboost.XGBClassifier(n_estimators=2).fit(X, y)
    lgb_model = lightgbm.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y)
    assert capture.top_level_models({"m": xgb_model, "b": xgb_model.get_booster()}) == ["m"]
    assert capture.top_level_models({"m": lgb_model, "b": lgb_model.booster_}) == ["m"]
    layer = torch.nn.Linear(3, 2)
    net = torch.nn.Sequential(layer, torch.nn.ReLU(), torch.nn.Linear(2, 1))
    values = {"layer": layer, "net": net, "loss_fn": torch.nn.MSELoss()}
    assert capture.default_model(values) == "net"

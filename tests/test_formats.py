"""Safe formats (SPEC §9): chosen per registration or by `serializer`, recorded per object,
loading without pickles when pickles are refused; skops names the types it does not trust."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nbmodels import Registry
from nbmodels.errors import InvalidInputError, UntrustedObjectError

from .helpers import record_fit

pytest.importorskip("skops")
pytest.importorskip("safetensors")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _serializer(registry, version) -> str:
    return registry.store.one("SELECT serializer FROM objects WHERE hash = ?",
                              [version.object_hash])["serializer"]


def _no_pickles(registry):
    registry.allow_pickle = False
    return registry


def test_skops_pipeline_loads_with_pickles_refused(registry, data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    version = registry.register(model, "pipe", format="skops")
    assert _serializer(registry, version) == "skops"
    assert registry.objects.path(version.object_hash).read_bytes()[:2] == b"PK"  # a skops zip
    loaded = _no_pickles(registry).load("pipe")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_skops_names_untrusted_types_and_loads_them_once_approved(registry, data):
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    registry.register(model, "forest", format="skops")
    with pytest.raises(UntrustedObjectError, match=r"forest@1\.0\.0.*sklearn\.tree\._tree\.Tree"):
        _no_pickles(registry).load("forest")
    loaded = registry.load("forest", trusted=["sklearn.tree._tree.Tree"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    registry.trusted_types = ("sklearn.tree._tree.Tree",)
    assert registry.load("forest@1.0.0").n_estimators == 3


@pytest.mark.parametrize("fmt", ["xgboost-json", "xgboost-ubj"])
def test_xgboost_models_are_stored_as_native_model_files(registry, data, fmt):
    import xgboost

    X, y = data
    clf = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    booster = clf.get_booster()
    for name, model in (("clf", clf), ("booster", booster)):
        version = registry.register(model, name, format=fmt)
        assert _serializer(registry, version) == f"{fmt}:{type(model).__name__}"
        if fmt == "xgboost-json":
            json.loads(registry.objects.path(version.object_hash).read_bytes())
        loaded = _no_pickles(registry).load(name)
        assert type(loaded) is type(model)
    np.testing.assert_allclose(registry.load("clf").predict_proba(X), clf.predict_proba(X))


def test_lightgbm_models_are_stored_as_lightgbm_text(registry, data):
    import lightgbm

    X, y = data
    clf = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    version = registry.register(clf, "lgbm", format="lightgbm")
    assert registry.objects.path(version.object_hash).read_text().startswith("tree")
    booster = _no_pickles(registry).load("lgbm")  # the wrapper's booster
    assert isinstance(booster, lightgbm.Booster)
    np.testing.assert_allclose(booster.predict(X), clf.predict_proba(X)[:, 1])


def test_torch_state_dicts_are_stored_as_safetensors(registry):
    torch = pytest.importorskip("torch")

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    registry.register(net.state_dict(), "net", format="safetensors")
    registry.register(net, "net-module", format="auto")
    for name in ("net", "net-module"):
        state = _no_pickles(registry).load(name)
        assert set(state) == set(net.state_dict())
        assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_auto_picks_the_safe_format_and_a_wrong_one_is_one_clear_error(registry, data):
    import lightgbm
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = LogisticRegression().fit(X, y)
    registry.serializer = "auto"
    assert _serializer(registry, registry.register(model, "auto")) == "skops"
    with pytest.raises(InvalidInputError, match="cannot hold"):
        registry.register(lightgbm.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y),
                          "wrong", format="skops")
    with pytest.raises(InvalidInputError, match="unknown format"):
        registry.register(model, "wrong", format="onnx")
    assert registry.count_runs() == 0 and [m.name for m in registry.list_models()] == ["auto"]


def test_pickles_are_refused_in_one_line_naming_them(registry, data, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = record_fit(registry, LogisticRegression().fit(X, y), "model.fit(X, y)",
                       X=X, y=y)
    registry.register(model, "plain")
    monkeypatch.setenv("NBMODELS_ALLOW_PICKLE", "0")
    refusing = Registry(registry.home)
    with pytest.raises(UntrustedObjectError, match=r"refusing to load plain@1\.0\.0.*pickle"):
        refusing.load("plain")
    with pytest.raises(UntrustedObjectError) as caught:
        refusing.load_variables(registry.last_run().id)
    assert "\n" not in str(caught.value)
    assert all(name in str(caught.value) for name in ("model", "X", "y"))
    refusing.close()


def test_a_run_stores_its_models_in_the_configured_format_and_register_reuses_them(registry,
                                                                                   data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    registry.serializer = "auto"
    model = record_fit(registry, LogisticRegression().fit(X, y), "model.fit(X, y)")
    stored = registry.last_run().variable("model").object_hash
    version = registry.register(model, "reused", stored_as=stored)
    assert version.object_hash == stored and _serializer(registry, version) == "skops"
    assert isinstance(_no_pickles(registry).load(version.ref), LogisticRegression)

"""`Registry.export` / `nbmodels export`: an MLflow model folder that MLflow serves with
the version's own predictions, written from records (no MLflow needed to write it)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nbmodels.cli import main
from nbmodels.errors import InvalidInputError, UntrustedObjectError

from .conftest import tracked

mlflow = pytest.importorskip("mlflow")


def served(folder, X):
    import mlflow.pyfunc

    return np.asarray(mlflow.pyfunc.load_model(str(folder)).predict(X))


def mlmodel(folder) -> dict:
    import yaml

    return yaml.safe_load((folder / "MLmodel").read_text())


class Scaled:
    """A model of the user's own, with `predict` and no MLflow flavour."""

    def __init__(self, factor):
        self.factor = factor

    def predict(self, X):
        return np.asarray(X).sum(axis=1) * self.factor


def test_sklearn_export_is_served_with_the_same_predictions(registry, frame_data, tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    X, y = frame_data
    model = tracked(registry, RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y),
                    X, y)
    version = registry.register(model, "bc")
    folder = registry.export("bc@1.0.0", tmp_path / "out")

    assert (served(folder, X) == registry.load("bc@1.0.0").predict(X)).all()
    meta = mlmodel(folder)
    assert meta["flavors"]["sklearn"]["serialization_format"] == "pickle"
    assert meta["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert meta["metadata"]["nbmodels.object_hash"] == version.object_hash
    # the stored bytes, copied: the model was not serialized again
    assert (folder / "model.pkl").read_bytes() == registry.objects.path(version.object_hash).read_bytes()
    requirements = (folder / "requirements.txt").read_text().split()
    run = registry.run(version.run_id)
    assert f"scikit-learn=={run.packages['scikit-learn']}" in requirements
    assert f"pandas=={run.packages['pandas']}" in requirements
    inputs = json.loads(meta["signature"]["inputs"])
    assert [c["name"] for c in inputs] == list(X.columns)
    assert {c["type"] for c in inputs} == {"double"}
    example = json.loads((folder / "input_example.json").read_text())
    assert example["columns"] == list(X.columns) and len(example["data"]) == 5
    assert meta["saved_input_example_info"]["type"] == "dataframe"


def test_signature_from_recorded_schema_rejects_wrong_columns(registry, frame_data, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y = frame_data
    model = tracked(registry, LogisticRegression(max_iter=500).fit(X, y), X, y)
    registry.register(model, "lr")
    folder = registry.export("lr", tmp_path / "out")
    with pytest.raises(mlflow.exceptions.MlflowException):
        served(folder, X.drop(columns=[X.columns[0]]))


def test_array_data_gives_a_tensor_signature_and_example(registry, tmp_path):
    from sklearn.linear_model import LinearRegression

    X = np.random.default_rng(0).normal(size=(50, 3))
    y = X @ [1.0, 2.0, 3.0]
    model = tracked(registry, LinearRegression().fit(X, y), X, y)
    registry.register(model, "lin")
    folder = registry.export("lin", tmp_path / "out")
    meta = mlmodel(folder)
    assert json.loads(meta["signature"]["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]
    assert np.allclose(served(folder, X), registry.load("lin").predict(X))
    assert np.allclose(json.loads((folder / "input_example.json").read_text()), X[:5])


def test_xgboost_export_copies_the_native_model_file(registry, frame_data, tmp_path):
    import xgboost

    X, y = frame_data
    model = tracked(registry, xgboost.XGBClassifier(n_estimators=8, max_depth=2).fit(X, y),
                    X, y)
    version = registry.register(model, "xgb", format="auto")
    folder = registry.export("xgb", tmp_path / "out")
    conf = mlmodel(folder)["flavors"]["xgboost"]
    assert conf["model_class"] == "xgboost.sklearn.XGBClassifier"
    assert (folder / conf["data"]).read_bytes() == \
        registry.objects.path(version.object_hash).read_bytes()
    assert (served(folder, X) == registry.load("xgb").predict(X)).all()


@pytest.mark.parametrize("fmt", ["lightgbm", "pickle5"])
def test_lightgbm_export_is_served_with_the_same_predictions(registry, frame_data, tmp_path, fmt):
    import lightgbm

    X, y = frame_data
    model = tracked(registry, lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(X, y),
                    X, y)
    registry.register(model, "lgb", format=fmt)
    folder = registry.export("lgb", tmp_path / "out")
    assert "lightgbm" in mlmodel(folder)["flavors"]
    assert np.allclose(served(folder, X), registry.load("lgb").predict(X))


@pytest.mark.slow
def test_skops_export_needs_the_types_load_needs(registry, frame_data, tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    X, y = frame_data
    model = tracked(registry, DecisionTreeClassifier(max_depth=3).fit(X, y), X, y)
    registry.register(model, "tree", format="skops")
    with pytest.raises(UntrustedObjectError, match="sklearn.tree._tree.Tree"):
        registry.export("tree", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    registry.trusted_types = ("sklearn.tree._tree.Tree",)
    folder = registry.export("tree", tmp_path / "out")
    conf = mlmodel(folder)["flavors"]["sklearn"]
    assert conf["serialization_format"] == "skops"
    assert conf["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert (served(folder, X) == model.predict(X)).all()


def test_a_model_without_flavour_gets_a_pyfunc_loader(registry, tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    registry.register(Scaled(2.0), "scaled")
    folder = registry.export("scaled", tmp_path / "out")
    assert mlmodel(folder)["flavors"]["python_function"]["loader_module"] == "nbmodels_pyfunc"
    assert (served(folder, X) == Scaled(2.0).predict(X)).all()


@pytest.mark.slow
def test_torch_module_export_is_served_with_the_same_predictions(registry, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    registry.register(net, "net", format="pickle5")
    folder = registry.export("net", tmp_path / "out")
    assert "pytorch" in mlmodel(folder)["flavors"]
    expected = registry.load("net")(torch.from_numpy(X)).detach().numpy()
    assert np.allclose(served(folder, X), expected)


def test_export_refusals_are_one_clear_error(registry, frame_data, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y = frame_data
    model = LogisticRegression(max_iter=500).fit(X, y)
    registry.register(model, "lr")
    with pytest.raises(InvalidInputError, match="unknown export format"):
        registry.export("lr", tmp_path / "a", format="onnx")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        registry.export("lr", tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    registry.register({"w": __import__("torch").zeros(2)}, "weights", format="safetensors")
    with pytest.raises(InvalidInputError, match="state dict"):
        registry.export("weights", tmp_path / "b")


def test_cli_export_writes_the_folder(registry, frame_data, tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    X, y = frame_data
    registry.register(tracked(registry, LogisticRegression(max_iter=500).fit(X, y), X, y), "lr")
    assert main(["export", "lr", str(tmp_path / "out"), "--format", "mlflow", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ref"] == "lr@1.0.0"
    assert (served(tmp_path / "out", X) == registry.load("lr").predict(X)).all()
    assert main(["export", "nope", str(tmp_path / "x")]) == 1
    assert "no model named 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_nbmodels_never_imports_mlflow(tmp_path):
    """`import nbmodels`, `%load_ext nbmodels` and an export of a scikit-learn model leave
    MLflow unimported."""
    code = f"""
import sys
import nbmodels
from IPython.testing.globalipapp import start_ipython
start_ipython().run_line_magic("load_ext", "nbmodels")
assert "mlflow" not in sys.modules, "import/load_ext"
from sklearn.linear_model import LinearRegression
registry = nbmodels.Registry({str(tmp_path / 'reg')!r})
registry.register(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), "lin")
registry.export("lin", {str(tmp_path / 'out')!r})
assert "mlflow" not in sys.modules, "export"
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]

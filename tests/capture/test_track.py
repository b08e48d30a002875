"""What `%%track` records, through a real IPython shell, asserting on the stored run.

The patterns are those of issue 8 (items 2, 3, 4, 5, 7) and issue 9 item 5, as real
notebooks write them: an XGBoost `train` cell run twice, scikit-learn transformers and
clusterers, a PyTorch loop that trains a network in place, data read through a Bunch.
"""

from __future__ import annotations

import math
import textwrap

import pytest

import nbmodels
from nbmodels import Registry


def track(shell, body: str, line: str = ""):
    result = shell.run_cell(f"%%track {line}\n" + textwrap.dedent(body))
    assert result.success, result.error_in_exec or result.error_before_exec
    return nbmodels.last_run()


def roles(run) -> dict:
    return {v.name: v.role for v in run.variables}


# --------------------------------------------------------------------------- item 2


def test_a_re_run_records_the_same_params_again(shell):
    """Issue 8 item 2: `num_round = 20` was recorded by the first run only."""
    shell.run_cell(textwrap.dedent("""
        import numpy as np, xgboost as xgb
        rng = np.random.default_rng(0)
        dtrain = xgb.DMatrix(rng.normal(size=(80, 4)), label=rng.integers(0, 2, 80))
    """))
    cell = """
        num_round = 20
        booster = "gbtree"
        param = {"max_depth": 2, "eta": 1, "objective": "binary:logistic"}
        bst = xgb.train(param, dtrain, num_round)
    """
    first, second = track(shell, cell), track(shell, cell)
    assert first.id != second.id
    for run in (first, second):
        assert run.params["num_round"] == 20 and run.params["booster"] == "gbtree"
        assert run.params["param"] == {"max_depth": 2, "eta": 1, "objective": "binary:logistic"}
        assert roles(run) == {"num_round": "param", "booster": "param", "param": "param", "bst": "model"}
    assert [i.name for i in second.inputs] == ["dtrain"]


def test_a_re_run_records_an_unchanged_object_bound_again(shell):
    """Issue 8 item 2: a run is the whole record of what the cell bound, never a diff:
    `best = models["rf"]` run twice binds the same object and is recorded both times."""
    shell.run_cell(textwrap.dedent("""
        from sklearn.linear_model import LogisticRegression
        from sklearn.datasets import load_iris
        X, y = load_iris(return_X_y=True)
        models = {"rf": LogisticRegression(max_iter=300).fit(X, y)}
    """))
    cell = 'best = models["rf"]\nlabel = "rf"\n'
    first, second = track(shell, cell), track(shell, cell)
    for run in (first, second):
        assert roles(run) == {"best": "model", "label": "param"}
    assert second.models[0].object_hash == first.models[0].object_hash


# --------------------------------------------------------------------------- item 3


@pytest.mark.filterwarnings("ignore::UserWarning")  # Isomap: iris' setosa is a component of its own
def test_fitted_transformers_clusterers_and_decompositions_are_models(shell):
    """Issue 8 item 3: each was recorded as `other`."""
    shell.run_cell("from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)")
    run = track(shell, """
        from sklearn.cluster import DBSCAN, AgglomerativeClustering, SpectralClustering
        from sklearn.decomposition import PCA
        from sklearn.feature_selection import SelectKBest
        from sklearn.manifold import Isomap, TSNE
        from sklearn.pipeline import FeatureUnion
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler().fit(X)
        pca = PCA(n_components=2).fit(X)
        kbest = SelectKBest(k=2).fit(X, y)
        union = FeatureUnion([("p", PCA(n_components=1)), ("k", SelectKBest(k=1))]).fit(X, y)
        dbscan = DBSCAN(eps=0.5).fit(X)
        agglo = AgglomerativeClustering(n_clusters=3).fit(X)
        spectral = SpectralClustering(n_clusters=3, random_state=0).fit(X)
        embedding = TSNE(perplexity=5, max_iter=250, method="exact", random_state=0)
        points = embedding.fit_transform(X[:30])
        isomap = Isomap(n_neighbors=15).fit(X)
    """)
    models = {"scaler", "pca", "kbest", "union", "dbscan", "agglo", "spectral", "embedding", "isomap"}
    assert {m.name for m in run.models} == models
    assert roles(run)["points"] == "data"
    assert run.params["pca.n_components"] == 2 and run.params["dbscan.eps"] == 0.5


def _torch_setup(shell):
    shell.run_cell(textwrap.dedent("""
        import torch
        torch.manual_seed(0)
        X = torch.randn(64, 3)
        y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
        net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        loss_fn = torch.nn.MSELoss()
    """))


def test_a_network_trained_in_place_by_an_optimizer_is_the_model(shell, registry_home):
    """Issue 8 item 3: the net (not rebound) was missed and the MSELoss taken for the model."""
    _torch_setup(shell)
    before = [p.detach().clone() for p in shell.user_ns["net"].parameters()]
    run = track(shell, """
        optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
        for epoch in range(20):
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
    """)
    assert [m.name for m in run.models] == ["net"]
    assert roles(run) == {"net": "model", "optimizer": "other", "epoch": "other", "loss": "metric"}
    assert run.metrics["loss"] == pytest.approx(shell.user_ns["loss"].item())
    assert "loss_fn" not in roles(run) and "epoch" not in run.params
    stored = Registry(registry_home).load(run.id, "net")
    assert not all((a == b).all() for a, b in zip(stored.parameters(), before))  # trained weights
    assert all((a == b).all() for a, b in zip(stored.parameters(), shell.user_ns["net"].parameters()))


def test_a_sequential_trained_by_manual_sgd_is_the_model(shell):
    """Issue 8 item 3: `nn.Sequential` trained by `p -= lr * p.grad`: nothing was recorded."""
    _torch_setup(shell)
    run = track(shell, """
        learning_rate = 1e-2
        for t in range(10):
            loss = loss_fn(net(X), y)
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in net.parameters():
                    param -= learning_rate * param.grad
    """)
    assert [m.name for m in run.models] == ["net"]
    assert run.params == {"learning_rate": 1e-2}  # not t, not param (a tensor), no net params
    assert roles(run)["param"] == "data"


def test_an_evaluation_cell_records_no_model(shell):
    _torch_setup(shell)
    run = track(shell, """
        with torch.no_grad():
            val_loss = loss_fn(net(X), y).item()
    """)
    assert run.models == () and run.metrics == {"val_loss": pytest.approx(shell.user_ns["val_loss"])}


def test_pipeline_params_are_listed_once_and_the_pipeline_is_the_default(shell, registry_home):
    """Issue 8 items 3 and 7: the steps are models too, but only the pipeline's
    hyperparameters are recorded (once, without a prefix) and it is the default."""
    shell.run_cell("from sklearn.datasets import load_breast_cancer\n"
                   "X, y = load_breast_cancer(return_X_y=True)")
    run = track(shell, """
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler()
        clf = LogisticRegression(C=0.5, max_iter=500)
        pipe = Pipeline([("scale", scaler), ("clf", clf)]).fit(X, y)
        accuracy = pipe.score(X, y)
    """)
    assert {m.name for m in run.models} == {"scaler", "clf", "pipe"}
    assert run.params["clf__C"] == 0.5 and run.params["scale__with_mean"] is True
    assert not any(key.startswith(("pipe.", "clf.", "scaler.")) for key in run.params)
    assert "C" not in run.params
    from nbmodels.capture import default_model

    assert default_model({v.name: shell.user_ns[v.name] for v in run.variables}) == "pipe"
    shell.run_line_magic("register", "")  # a bare %register takes that default
    assert Registry(registry_home).get("pipe").variable == "pipe"


# --------------------------------------------------------------------------- item 4


def test_inputs_read_through_attributes_and_subscripts_not_loop_variables(shell):
    """Issue 8 item 4."""
    shell.run_cell(textwrap.dedent("""
        import numpy as np
        from sklearn.datasets import load_digits, load_iris
        from sklearn.linear_model import LogisticRegression
        digits = load_digits()
        iris = load_iris(as_frame=False)
        iris = {"data": iris.data, "target": iris.target}
        X = np.zeros((3, 2))  # an older X: the loop below binds its own
        folds = [np.ones((2, 2)), np.ones((3, 2))]
    """))
    run = track(shell, """
        class Halver:
            def transform(self, X):
                return X / 2
        sizes = []
        for X in folds:
            sizes.append(len(Halver().transform(X)))
        clf = LogisticRegression(max_iter=200).fit(digits.data[:300], digits.target[:300])
        n_features = iris["data"].shape[1]
    """)
    inputs = {i.name: i for i in run.inputs}
    assert set(inputs) == {"digits.data", "digits.target", 'iris["data"]'}  # folds: a list
    assert inputs["digits.data"].schema["shape"] == [1797, 64]
    assert all(i.object_hash for i in run.inputs)  # the content is stored too
    assert "X" not in inputs


def test_sparse_tensor_dmatrix_and_dataset_inputs(shell):
    """Issue 8 item 4: `lgb.Dataset`, `xgb.DMatrix`, sparse matrices, tensors are data."""
    shell.run_cell(textwrap.dedent("""
        import numpy as np, lightgbm as lgb, xgboost as xgb, torch
        from scipy import sparse
        rng = np.random.default_rng(0)
        features = rng.normal(size=(120, 4))
        labels = (features[:, 0] > 0).astype(int)
        dtrain = xgb.DMatrix(features, label=labels)
        train_set = lgb.Dataset(features, label=labels, params={"verbose": -1})
        counts = sparse.random(120, 10, density=0.1, format="csr", random_state=0)
        inputs = torch.tensor(features, dtype=torch.float32)
    """))
    run = track(shell, """
        bst = xgb.train({"max_depth": 2}, dtrain, 3)
        gbm = lgb.train({"verbose": -1, "num_leaves": 4}, train_set, 3)
        total = counts.sum()
        mean_input = inputs.mean()
    """)
    inputs = {i.name: i for i in run.inputs}
    assert set(inputs) == {"dtrain", "train_set", "counts", "inputs"}
    assert inputs["dtrain"].schema["kind"] == "DMatrix" and inputs["dtrain"].reason  # no pickle
    assert inputs["counts"].schema["kind"] == "sparse" and inputs["counts"].object_hash
    assert inputs["inputs"].schema["kind"] == "Tensor" and inputs["inputs"].object_hash
    assert inputs["train_set"].schema["source"] == "raw data"
    assert {m.name for m in run.models} == {"bst", "gbm"}
    again = track(shell, "gbm = lgb.train({'verbose': -1, 'num_leaves': 4}, train_set, 3)")
    assert again.inputs[0].schema["source"] == "binned"  # raw data freed by the first train


# --------------------------------------------------------------------------- items 5 and 7


def test_sets_none_and_nan_are_kept(shell):
    """Issue 8 items 5 and 7: a set is its sorted values, None is not absent, NaN stays."""
    run = track(shell, """
        classes = {"dog", "cat"}
        drop = {3, 1, 2}
        alpha = None
        val_loss = float("nan")
        from sklearn.ensemble import RandomForestClassifier
        forest = RandomForestClassifier(n_estimators=3, max_depth=None).fit([[0], [1]], [0, 1])
    """)
    assert run.params["classes"] == ["cat", "dog"] and run.params["drop"] == [1, 2, 3]
    assert "alpha" in run.params and run.params["alpha"] is None
    assert "max_depth" in run.params and run.params["max_depth"] is None
    assert "absent" not in run.params
    assert math.isnan(run.metrics["val_loss"])
    assert run.variable("alpha").role == "param" and run.variable("alpha").value is None


def test_loop_counters_timers_and_plot_limits_are_not_params(shell):
    """Issue 8 item 7."""
    shell.run_cell(textwrap.dedent("""
        class FakeAxes:
            def axis(self):
                return (0.0, 1.0, -1.0, 1.0)
            def get_xlim(self):
                return (0.0, 1.0)
        plt = FakeAxes()
    """))
    run = track(shell, """
        import time
        t0 = time.time()
        n_estimators = 50
        step = 0
        for i in range(3):
            step += 1
        lim = plt.axis()
        xlim = plt.get_xlim()
        elapsed = time.time() - t0
    """)
    assert run.params == {"n_estimators": 50}
    assert {name: roles(run)[name] for name in ("t0", "i", "step", "lim", "xlim", "elapsed")} == dict.fromkeys(
        ("t0", "i", "step", "lim", "xlim", "elapsed"), "other")


# --------------------------------------------------------------------------- issue 9 item 5


def test_one_bad_value_never_loses_the_run(shell):
    """Issue 9 item 5: values whose inspection raises, np.matrix, masked arrays, a torch
    DataLoader iterator: the run is recorded, each is listed, with a reason if not stored."""
    shell.run_cell(textwrap.dedent("""
        import warnings
        import numpy as np, torch
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        class BadLen(list):
            def __len__(self):
                raise RuntimeError("len")
        class BadItems(dict):
            def items(self):
                raise RuntimeError("items")
        class BadEq:
            def __eq__(self, other):
                raise RuntimeError("eq")
            __hash__ = object.__hash__
        class BadAttributes:
            def __getattribute__(self, name):
                raise RuntimeError(name)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2)), batch_size=2)
    """))
    run = track(shell, """
        bad_len = BadLen([1, 2])
        bad_items = BadItems(a=1)
        bad_eq = BadEq()
        bad_attributes = BadAttributes()
        matrix = np.asmatrix([[1.0, 2.0], [3.0, 4.0]])
        masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
        batches = iter(loader)
        ok = 1
    """)
    assert run.status == "ok"
    by_name = {v.name: v for v in run.variables}
    assert set(by_name) == {"bad_len", "bad_items", "bad_eq", "bad_attributes", "matrix", "masked",
                            "batches", "ok"}
    assert by_name["matrix"].role == "data" and by_name["matrix"].data["schema"]["shape"] == [2, 2]
    assert by_name["masked"].role == "data" and by_name["masked"].data["schema"]["masked"] == 1
    assert by_name["batches"].object_hash is None and "DataLoaderIter" in by_name["batches"].reason
    for variable in by_name.values():
        assert variable.captured or variable.reason
    assert run.params == {"ok": 1}


def test_an_input_that_cannot_be_read_does_not_stop_the_cell(shell):
    shell.run_cell(textwrap.dedent("""
        import numpy as np
        from scipy import sparse
        class Broken(sparse.csr_matrix):
            def tocsr(self, copy=False):
                raise RuntimeError("corrupt")
        weird = Broken(np.eye(3))
    """))
    run = track(shell, "size = weird.shape[0]")
    assert shell.user_ns["size"] == 3 and run.params == {"size": 3}
    assert [i.name for i in run.inputs] == ["weird"]
    assert "corrupt" in run.inputs[0].schema["content"]

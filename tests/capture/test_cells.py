"""capture.cells: what a cell binds, reads and fits; what it changed; which data it read."""

from __future__ import annotations

import os
import textwrap
import types

import numpy as np
import pandas as pd
import pytest

from nbmodels import capture
from nbmodels.capture import CellNames, cell_names, changed_names, snapshot


def names(source: str) -> CellNames:
    return cell_names(textwrap.dedent(source))


# --------------------------------------------------------------------------- bound / read / fitted


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
        ("try:\n    pass\nexcept ValueError as err:\n    pass", {"err"}),
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
        for fold in folds:
            looped.fit(fold)
        print(len(X))
        """
    )
    assert cell.fitted == {"clf", "scaler", "sgd", "km", "net", "looped"}
    assert "clf" not in cell.bound


def test_cell_names_syntax_error_gives_empty_sets():
    assert names("x = (1,\n") == CellNames(frozenset(), frozenset(), frozenset())
    assert cell_names("a = 1\x00") == CellNames()
    assert cell_names("%%time\nx = 1") == CellNames()


def test_cell_names_reads_untransformed_ipython_lines_as_nothing():
    cell = names(
        """
        %matplotlib inline
        files = !ls
        t0 = time.time()
        model.fit(X, y)
        """
    )
    assert cell.bound == {"t0"} and cell.fitted == {"model"}


def test_cell_names_read_first_are_the_cells_inputs():
    cell = cell_names("features = X.drop(columns=['a'])\n"
                      "model.fit(features, y)\n"
                      "X = X * 2\n")
    assert cell.read_first == {"X", "y", "model"}  # not `features`: bound before read


# --------------------------------------------------------------------------- issue 8 item 4: scopes and order


def test_a_loop_variable_is_not_read_from_before_the_cell_in_any_block():
    """Given `X` bound by a loop header, reading `X` in the loop body (and after it) is
    reading the loop's value, not the `X` that existed before the cell."""
    cell = names(
        """
        for X, y in folds:
            scores.append(model.fit(X, y).score(X, y))
        with open(path) as handle:
            text = handle.read()
        try:
            pass
        except Exception as err:
            print(err)
        for epoch in range(3):
            for batch in loader:
                out = net(batch)
        """
    )
    assert cell.read_first == {"folds", "scores", "model", "open", "path", "print", "Exception",
                               "range", "loader", "net"}


def test_a_function_parameter_named_like_a_global_is_not_a_read_of_the_global():
    cell = names(
        """
        class Wrapper:
            scale = 2
            def predict(self, X, *args, y=None, **kw):
                Z = X * self.scale
                return Z + offset
        f = lambda X: X.sum()
        def g(data):
            def h():
                return data + bias
            return h
        squares = [X ** 2 for X in range(3)]
        """
    )
    assert "X" not in cell.read_first and "data" not in cell.read_first
    assert "scale" not in cell.read_first  # class attributes are not globals of the methods
    assert {"offset", "bias"} <= cell.read_first  # globals read by the bodies are
    assert "X" in cell.read  # lineage still sees every name loaded


def test_a_method_sees_a_global_shadowed_only_in_its_class_body():
    cell = names(
        """
        class Model:
            X = 1
            def fit(self):
                return X
        """
    )
    assert "X" in cell.read_first  # the method's X is the global, not the class attribute


def test_read_paths_are_constant_attribute_and_subscript_chains_off_read_names():
    cell = names(
        """
        X = digits.data
        y = iris["data"][0]
        n = frames['train'].shape
        key = "x"
        z = table[key]
        bunch = load()
        w = bunch.target
        v = deep.a.b.c.d.e.f
        parts.head[-1] = 0
        """
    )
    labels = {label for path in cell.read_paths for label in path.labels}
    assert {"digits.data", 'iris["data"]', 'iris["data"][0]', 'frames["train"]',
            'frames["train"].shape'} <= labels
    assert not any(label.startswith(("table", "bunch", "z")) for label in labels)
    assert max(len(path.steps) for path in cell.read_paths) == 4  # deep.a.b.c.d
    assert "parts.head" in labels and "parts.head[-1]" not in labels  # a stored-into target


# --------------------------------------------------------------------------- issue 8 item 7: computed names


def test_loop_variables_counters_clock_and_plot_readings_are_computed():
    cell = names(
        """
        import time
        from timeit import default_timer
        lr = 0.1
        t0 = time.time()
        start = default_timer()
        for i in range(3):
            step += 1
            loss = train(lr)
        elapsed = time.perf_counter() - t0
        minutes = elapsed / 60
        lim = plt.axis()
        xl = ax.get_xlim()
        fig, ax = plt.subplots()
        when = datetime.now()
        n = len(X)
        """
    )
    assert cell.computed == {"t0", "start", "i", "step", "elapsed", "minutes", "lim", "xl",
                             "fig", "ax", "when"}
    assert {"lr", "loss", "n"} <= cell.bound - cell.computed


def test_always_holds_names_bound_outside_branches_loops_and_try():
    cell = names(
        """
        a = 1
        with ctx:
            b = 2
        if flag:
            c = 3
        for i in range(2):
            d = 4
        try:
            e = 5
        except E:
            pass
        """
    )
    assert cell.always == {"a", "b"}


# --------------------------------------------------------------------------- snapshot / changed


def test_snapshot_keeps_references_of_present_names_only():
    frame = pd.DataFrame({"a": [1]})
    namespace = {"df": frame, "n": 1}
    snap = snapshot(namespace, ["df", "missing"])
    assert snap == {"df": frame} and snap["df"] is frame


def test_changed_names_uses_identity_for_objects():
    same, old, untouched = object(), [object()], "keep"
    before = snapshot({"same": same, "old": old, "untouched": untouched}, ["same", "old"])
    after = {"same": same, "old": [object()], "untouched": untouched, "new": 3, "_private": 4}
    # Given the cell rebound `same` to the same object and `old` to a new list
    assert changed_names(before, after, {"same", "old", "new", "_private", "gone"}) == ["new", "old"]
    # ... unless the cell bound `same` unconditionally: then it is recorded whatever its object
    assert changed_names(before, after, {"same", "old"}, always={"same"}) == ["old", "same"]


def test_a_re_bound_plain_value_is_recorded_every_time():
    """Issue 8 item 2: `num_round = 20` run twice binds the very same cached int object."""
    namespace: dict = {}
    source = "num_round = 20\nname = 'gbtree'\nflags = (True, None)\nlayers = [64, 32]\n"
    cell = cell_names(source)
    for _ in range(2):
        before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
        exec(source, {}, namespace)
        assert changed_names(before, namespace, cell.bound, cell.fitted) == [
            "flags", "layers", "name", "num_round"]


def test_changed_names_includes_fitted_models_and_skips_modules():
    model = object()
    before = snapshot({"model": model, "xgb": os}, ["model", "xgb"])
    after = {"model": model, "xgb": os}
    assert changed_names(before, after, set(), {"model", "xgb", "absent"}) == ["model"]


def _torch_net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


@pytest.mark.parametrize("update", ["optimizer", "no_grad", "data_add"])
def test_a_network_trained_in_place_is_changed(update):
    """Issue 8 item 3: a module the cell only reads, trained in place (no rebinding)."""
    import torch

    net, loss_fn = _torch_net(), torch.nn.MSELoss()
    namespace = {"net": net, "loss_fn": loss_fn, "X": torch.randn(16, 4), "y": torch.randn(16, 1)}
    source = {
        "optimizer": "opt = torch.optim.SGD(net.parameters(), lr=0.1)\n"
                     "for _ in range(3):\n"
                     "    opt.zero_grad()\n"
                     "    loss = loss_fn(net(X), y)\n"
                     "    loss.backward()\n"
                     "    opt.step()\n",
        "no_grad": "loss = loss_fn(net(X), y)\nloss.backward()\n"
                   "with torch.no_grad():\n"
                   "    for p in net.parameters():\n"
                   "        p -= 0.1 * p.grad\n",
        "data_add": "net.zero_grad()\nloss = loss_fn(net(X), y)\nloss.backward()\n"
                    "for p in net.parameters():\n"
                    "    p.data.add_(p.grad, alpha=-0.1)\n",
    }[update]
    cell = cell_names(source)
    assert "net" not in cell.bound | cell.fitted
    before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
    exec(source, {"torch": torch}, namespace)
    changed = changed_names(before, namespace, cell.bound, cell.fitted)
    assert "net" in changed and "loss_fn" not in changed


def test_a_network_only_evaluated_is_not_changed():
    import torch

    net = _torch_net()
    namespace = {"net": net, "X": torch.randn(5, 4)}
    source = "with torch.no_grad():\n    predictions = net(X)\n"
    cell = cell_names(source)
    before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
    exec(source, {"torch": torch}, namespace)
    assert changed_names(before, namespace, cell.bound, cell.fitted) == ["predictions"]


def test_an_estimator_fitted_inside_a_function_is_changed():
    from sklearn.linear_model import LogisticRegression

    namespace = {"clf": LogisticRegression(), "X": np.eye(4), "y": np.array([0, 1, 0, 1])}
    source = "def train(model):\n    model.fit(X, y)\ntrain(clf)\n"
    cell = cell_names(source)
    before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
    exec(source, namespace)
    assert changed_names(before, namespace, cell.bound, cell.fitted) == ["clf"]
    before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
    exec(source, namespace)  # refit: new coef_ objects
    assert changed_names(before, namespace, cell.bound, cell.fitted) == ["clf"]


# --------------------------------------------------------------------------- issue 8 item 4: inputs


def _inputs(source: str, namespace: dict, ignored=()) -> dict:
    cell = cell_names(textwrap.dedent(source))
    before = snapshot(namespace, cell.bound | cell.read | cell.fitted)
    return capture.cell_inputs(cell, before, ignored)


def test_data_read_by_attribute_or_subscript_is_an_input():
    from sklearn.datasets import load_digits, load_iris

    digits, iris = load_digits(), load_iris()
    frames = {"train": pd.DataFrame({"x": [1.0, 2.0]})}
    namespace = {"digits": digits, "iris": iris, "frames": frames, "clf": object(), "np": np}
    inputs = _inputs(
        """
        clf.fit(digits.data, digits.target)
        y = iris["data"][:, 0]
        size = frames["train"]["x"].mean()
        z = np.pi
        """, namespace)
    assert set(inputs) == {"digits.data", "digits.target", 'iris["data"]', 'frames["train"]'}
    assert inputs["digits.data"] is digits.data and inputs['frames["train"]'] is frames["train"]
    assert set(_inputs("clf.fit(digits.data, y)", namespace, ignored={"digits"})) == set()


def test_a_chain_off_data_is_the_data_itself_and_off_a_model_is_nothing():
    from sklearn.linear_model import LogisticRegression

    df = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    clf = LogisticRegression().fit(df[["x"]], df["y"])
    inputs = _inputs('a = df["x"].values\nw = clf.coef_\n', {"df": df, "clf": clf})
    assert list(inputs) == ["df"] and inputs["df"] is df


def test_loop_variables_and_parameters_are_not_inputs():
    """Issue 8 item 4: `X` existed before the cell but each read is of the loop's or the
    parameter's own value; `folds` is the input."""
    X = pd.DataFrame({"a": [1.0, 2.0]})
    folds = [np.zeros((2, 2)), np.ones((2, 2))]
    namespace = {"X": X, "folds": folds, "model": object()}
    source = """
        class Scaler:
            def transform(self, X):
                return X * 2
        for X in folds:
            total = X.sum()
        """
    assert _inputs(source, namespace) == {}
    assert set(_inputs("for X in folds:\n    pass\nlast = X\n", namespace)) == set()
    assert set(_inputs("first = X\nfor X in folds:\n    pass\n", namespace)) == {"X"}


def test_an_attribute_that_raises_is_skipped():
    class Hostile:
        @property
        def data(self):
            raise RuntimeError("no")

    assert _inputs("x = thing.data", {"thing": Hostile()}) == {}


def test_modules_are_not_read_for_inputs(monkeypatch):
    module = types.ModuleType("fake_data")
    module.X = np.zeros(3)
    assert _inputs("y = fake_data.X", {"fake_data": module}) == {}

"""capture.roles: model, param, metric, data or other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbmodels.capture import is_metric_name, role_of


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
        ("classes", {"cat", "dog"}, "param"),
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


def test_computed_names_are_never_params():
    """Issue 8 item 7: `t0 = time.time()`, `lim = plt.axis()`, `i` of a loop."""
    computed = {"t0", "lim", "i", "val_loss"}
    assert role_of("t0", 1.7e9, computed=computed) == "other"
    assert role_of("lim", (0.0, 1.0, -2.0, 2.0), computed=computed) == "other"
    assert role_of("i", 9, computed=computed) == "other"
    assert role_of("val_loss", 0.5, computed=computed) == "metric"  # measured in a loop: still a metric
    assert role_of("i", 9, params=["i"], computed=computed) == "param"  # --params wins


def test_the_loss_of_a_training_loop_is_a_metric():
    import torch

    assert role_of("loss", torch.tensor(0.5, requires_grad=True) * 2) == "metric"
    assert role_of("val_acc", np.array(0.75)) == "metric"
    assert role_of("batch", torch.zeros(3)) == "data"


class Hostile:
    """Every inspection raises."""

    def __getattribute__(self, name):
        raise RuntimeError(name)


class BadLen(list):
    def __len__(self):
        raise RuntimeError("len")


class BadEq:
    def __eq__(self, other):
        raise RuntimeError("eq")

    __hash__ = object.__hash__


@pytest.mark.parametrize("make, role", [
    (Hostile, "other"), (lambda: BadLen([1]), "other"), (BadEq, "other"),
    (lambda: np.asmatrix([[1, 2]]), "data"), (lambda: np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "data"),
], ids=["getattribute", "len", "eq", "matrix", "masked"])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_role_of_never_raises(make, role):
    """Issue 9 item 5."""
    assert role_of("value", make()) == role

"""capture.values: plain values (params), their JSON form; nothing raises on hostile values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nbmodels import capture
from nbmodels.capture import json_value, short_type_name, type_name
from nbmodels.capture.values import is_param_value


def test_json_value_and_type_names():
    assert json_value((np.int64(1), np.float32(0.5), "a")) == [1, 0.5, "a"]
    assert type(json_value(np.bool_(True))) is bool
    assert json_value({"k": (np.int32(2),)}) == {"k": [2]}
    from sklearn.linear_model import LogisticRegression

    assert type_name(LogisticRegression()) == "sklearn.linear_model._logistic.LogisticRegression"
    assert short_type_name(LogisticRegression()) == "LogisticRegression"
    assert type_name(3) == "int"


def test_a_set_is_a_param_stored_as_its_sorted_values():
    """Issue 8 item 5: a set param was stored as the string 'set'."""
    assert is_param_value({3, 1, 2}) and is_param_value(frozenset({"b", "a"}))
    assert json_value({3, 1, 2}) == [1, 2, 3]
    assert json_value(frozenset({"b", "a"})) == ["a", "b"]
    # numbers ascending (NaN last), then strings, then the rest by repr
    mixed = json_value({"z", 2.5, 0, None, True, float("nan"), "a"})  # True is not 1 here: 0
    assert mixed[:2] == [0, 2.5] and math.isnan(mixed[2])
    assert mixed[3:] == ["a", "z", None, True]  # "None" < "True" by repr
    assert json_value({np.int64(2), 1}) == [1, 2]
    json.dumps(json_value({1, 2}), allow_nan=False)


def test_nan_is_kept_not_lost():
    assert math.isnan(json_value(np.float64("nan")))
    assert math.isnan(json_value(float("nan")))
    assert math.isnan(json_value({"missing": float("nan")})["missing"])
    assert json_value([float("inf")]) == [float("inf")]


def test_none_is_a_param_value_kept_as_none():
    assert is_param_value(None) and json_value(None) is None
    assert json_value({"max_depth": None}) == {"max_depth": None}


def test_a_zero_dimensional_tensor_or_array_is_one_number():
    import torch

    assert json_value(torch.tensor(0.25)) == 0.25 and json_value(np.array(3)) == 3
    assert capture.values.one_number(torch.tensor([1.0, 2.0])).shape == (2,)
    assert capture.values.one_number(torch.tensor(True)).item() is True  # a flag stays a tensor


class BadLen(list):
    def __len__(self):
        raise RuntimeError("len")


class BadItems(dict):
    def items(self):
        raise RuntimeError("items")


class BadIter(tuple):
    def __iter__(self):
        raise RuntimeError("iter")


class BadStr(str):
    def __len__(self):
        raise RuntimeError("len")


@pytest.mark.parametrize("make", [lambda: BadLen([1]), lambda: BadItems(a=1),
                                  lambda: BadIter((1,)), lambda: {"k": BadLen([1])}],
                         ids=["len", "items", "iter", "nested"])
def test_a_hostile_container_is_not_a_param_and_does_not_raise(make):
    """Issue 9 item 5: a value whose __len__/items()/iteration raises."""
    assert is_param_value(make()) is False


def test_a_str_subclass_with_a_raising_len_is_still_a_scalar():
    assert is_param_value(BadStr("adam")) is True
